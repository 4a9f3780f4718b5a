"""The Flask extensions, created unbound; ``create_app`` binds them to an app."""

from __future__ import annotations

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from heldout.platform.models import Base

db = SQLAlchemy(metadata=Base.metadata)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
# Storage comes from RATELIMIT_STORAGE_URI (HELDOUT_RATELIMIT_STORAGE) at init_app; only
# the views that name a limit are limited.
limiter = Limiter(key_func=get_remote_address)
