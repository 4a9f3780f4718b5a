"""Role templates: which challenges of the catalogue suit a job, and why each was picked."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from heldout.graders.kinds import KINDS
from heldout.platform.errors import NotFound
from heldout.platform.models import Challenge


@dataclass(frozen=True)
class Role:
    """A job as an assessment and the skills it needs.

    ``challenges`` are the slugs of the shipped catalogue its template starts from (2 to
    ``MAX_PICKS``); ``skills`` rank the rest of the catalogue: challenges tagged with them, or
    of the role's kinds, fit, and take the places of picks a catalogue does not have.
    """

    key: str
    title: str
    description: str
    skills: tuple[str, ...]
    challenges: tuple[str, ...] = ()

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds whose declared ``roles`` name this one: what it does day to day."""
        return tuple(name for name in KINDS.known() if self.key in KINDS.get(name).roles)


# Skill tags are compared case-insensitively with the challenges' ``skills`` in
# challenge.toml. One job title hides very different work, hence one role per kind of work.
ROLES: tuple[Role, ...] = (
    Role("ml-engineer", "ML engineer",
         "Trains and ships models: features, training, evaluation, code quality.",
         skills=("binary classification", "imbalanced classification", "feature engineering",
                 "evaluation metrics", "scikit-learn", "leakage", "numpy"),
         challenges=("fraud-detection", "late-delivery-features", "metrics-from-scratch")),
    Role("data-scientist", "Data scientist",
         "Explores data, answers questions with it, models and explains the results.",
         skills=("exploratory data analysis", "Jupyter", "statistics", "A/B testing",
                 "text classification", "evaluation metrics", "pandas"),
         challenges=("churn-eda-notebook", "ab-test-analysis", "ticket-classification")),
    Role("data-engineer", "Data engineer",
         "Builds reliable tables and pipelines: SQL, dates, joins, data quality.",
         skills=("SQL", "window functions", "DuckDB", "cohort analysis", "dates and times",
                 "data cleaning", "time zones", "missing values"),
         challenges=("sessionisation-sql", "cleaning-pipeline", "late-delivery-features")),
    Role("mlops-engineer", "MLOps engineer",
         "Puts models into service: deployment, latency, input validation, monitoring.",
         skills=("model serving", "WSGI", "latency", "input validation", "monitoring",
                 "data drift", "data splitting"),
         challenges=("churn-service", "drift-monitoring")),
    Role("researcher", "Research engineer",
         "Turns papers into working code: algorithms from their description, ranking, evaluation.",
         skills=("algorithms", "reading a paper", "numerical care", "information retrieval",
                 "ranking", "clustering", "recommender systems"),
         challenges=("kmeans-plusplus", "bm25-retrieval", "recommendation-ranking")),
    Role("data-labelling-lead", "Data labelling lead",
         "Keeps annotated data trustworthy: label noise, cleaning, consistent datasets.",
         skills=("data-centric ML", "label noise", "data cleaning", "deduplication",
                 "text classification"),
         challenges=("mislabelled-rows", "cleaning-pipeline")),
)
ROLES_BY_KEY = {role.key: role for role in ROLES}
# At most this many challenges per template: an assessment one can finish in a sitting.
MAX_PICKS = 4


@dataclass(frozen=True)
class Pick:
    """A challenge a role template chose, with the reasons shown to the recruiter."""

    challenge: Challenge
    matched_skills: tuple[str, ...]
    matched_kind: bool
    # One of the role's own ``challenges``, not a stand-in ranked by its skills.
    chosen: bool = False

    @property
    def reason(self) -> str:
        parts = []
        if self.chosen and not (self.matched_skills or self.matched_kind):
            parts.append("part of this role's template")
        if self.matched_skills:
            parts.append("assesses " + ", ".join(self.matched_skills))
        if self.matched_kind:
            parts.append(f"a {self.challenge.kind.replace('_', ' ')} challenge, "
                         "which this role does day to day")
        text = "; ".join(parts)
        return text[:1].upper() + text[1:]

    @property
    def weight(self) -> int:
        return 2 * len(self.matched_skills) + int(self.matched_kind)


def get_role(key: str) -> Role:
    role = ROLES_BY_KEY.get(key)
    if role is None:
        raise NotFound(f"No role template {key!r}",
                       hint="Known templates: " + ", ".join(ROLES_BY_KEY))
    return role


def pick_challenges(role: Role, catalogue: Sequence[Challenge]) -> list[Pick]:
    """The role's template: its own ``challenges`` the catalogue has, in their order; then,
    for those it lacks (or up to ``MAX_PICKS`` for a role that names none), the best fits.

    A challenge fits when it shares a skill tag with the role or is of one of its kinds;
    more shared skills rank higher, then the shorter challenge.
    """
    wanted = {skill.casefold(): skill for skill in role.skills}
    kinds = role.kinds

    def pick(challenge: Challenge, chosen: bool) -> Pick:
        matched = tuple(str(skill) for skill in challenge.skills
                        if str(skill).casefold() in wanted)
        return Pick(challenge, matched, challenge.kind in kinds, chosen)

    by_slug = {challenge.slug: challenge for challenge in catalogue}
    chosen = [pick(by_slug[slug], True) for slug in role.challenges if slug in by_slug]
    taken = {p.challenge.slug for p in chosen}
    others = [p for p in (pick(c, False) for c in catalogue if c.slug not in taken) if p.weight]
    others.sort(key=lambda p: (-p.weight, p.challenge.expected_minutes, p.challenge.title))
    size = len(role.challenges) or MAX_PICKS
    return (chosen + others)[:size]


def missing_kinds(role: Role, picks: Sequence[Pick]) -> tuple[str, ...]:
    """Kinds the role asks for that no picked challenge covers (none in the catalogue yet)."""
    covered = {p.challenge.kind for p in picks}
    return tuple(kind for kind in role.kinds if kind not in covered)


def suggested_minutes(picks: Sequence[Pick]) -> int:
    """A time limit for the picks: their expected minutes and a quarter more, in 15s."""
    expected = sum(p.challenge.expected_minutes for p in picks)
    return max(15, -(-(expected * 5 // 4) // 15) * 15)
