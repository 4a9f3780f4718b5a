"""Recruiter pages: assessments, the builder, role templates, invites one by one or by CSV."""

from __future__ import annotations

# Each page module adds its routes to the one blueprint.
from heldout.platform.views.staff import assessments, invites
from heldout.platform.views.staff.common import RECRUITERS, STAFF, bp

__all__ = ["RECRUITERS", "STAFF", "assessments", "bp", "invites"]
