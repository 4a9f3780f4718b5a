"""Challenge bundles: the types (``bundle_types``) and their loading (``bundle_loading``).

Kinds and anything a kind imports take the types from ``bundle_types``; importing this
module loads the kinds, so a kind importing it would close a circle.
"""

from heldout.graders.bundle_loading import (
    bundle_files,
    bundle_version,
    default_challenges_dir,
    discover_bundles,
    load_bundle,
    resolve_bundle,
    scan_bundles,
)
from heldout.graders.bundle_types import (
    DIFFICULTIES,
    ENV_CHALLENGES_DIR,
    SKIPPED_DIRS,
    SLUG_PATTERN,
    STATEMENT_NAME,
    TOML_NAME,
    Bundle,
    BundleScan,
    GradingConfig,
    SolutionCase,
    SubmissionSpec,
    display_path,
)

__all__ = ["DIFFICULTIES", "ENV_CHALLENGES_DIR", "SKIPPED_DIRS", "SLUG_PATTERN", "STATEMENT_NAME",
           "TOML_NAME", "Bundle", "BundleScan", "GradingConfig", "SolutionCase", "SubmissionSpec",
           "bundle_files", "bundle_version", "default_challenges_dir", "discover_bundles",
           "display_path", "load_bundle", "resolve_bundle", "scan_bundles"]
