"""Assessments: build, edit, duplicate and archive them; list them with invite counts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext
from markupsafe import Markup
from sqlalchemy import func, select, update

from heldout.platform import i18n
from heldout.platform.errors import InvalidInput, NotFound
from heldout.platform.extensions import db
from heldout.platform.i18n import N_
from heldout.platform.models import Assessment, AssessmentChallenge, Challenge, Invite
from heldout.platform.services import access, assistant
from heldout.platform.services.names import checked_name
from heldout.platform.services.paging import page_window
from heldout.platform.services.scoring import Counting

MIN_MINUTES = 5
MAX_MINUTES = 24 * 60
MAX_NAME_CHARS = 200
PER_PAGE = 25


@dataclass(frozen=True)
class AssessmentSummary:
    assessment: Assessment
    invited: int
    started: int
    finished: int


@dataclass(frozen=True)
class AssessmentForm:
    """What the builder's form sets on an assessment."""

    name: str
    challenge_slugs: tuple[str, ...]
    time_limit_minutes: int
    instructions: str
    expires_at: datetime | None
    show_scores: bool
    counting: str = "last"
    ai_policy: str = "not_allowed"  # ``statuses.AiPolicy``
    # Whether the server has an AI endpoint (the assistant policy needs one).
    assistant_available: bool = False
    # Authorship follow-up questions once the candidate finishes (services/followups.py).
    followups: bool = False
    # The candidate's own results once their attempt is complete (services/feedback.py).
    feedback_to_candidates: bool = False


def _counting(counting: str) -> Counting:
    try:
        return Counting(counting)
    except ValueError:
        raise InvalidInput("Which submission counts must be one of "
                           f"{', '.join(Counting)}", field="counting") from None


def _chosen_challenges(challenge_slugs: Sequence[str]) -> list[Challenge]:
    if not challenge_slugs:
        raise InvalidInput("Choose at least one challenge", field="challenges")
    if len(set(challenge_slugs)) != len(challenge_slugs):
        raise InvalidInput("A challenge can appear only once", field="challenges")
    found = {c.slug: c for c in db.session.scalars(
        select(Challenge).where(Challenge.slug.in_(challenge_slugs), Challenge.available))}
    missing = [slug for slug in challenge_slugs if slug not in found]
    if missing:
        raise InvalidInput(f"Unknown or unavailable challenge: {', '.join(missing)}",
                           field="challenges")
    return [found[slug] for slug in challenge_slugs]


def _validated_name(name: str) -> str:
    if not name.strip():
        raise InvalidInput("Give the assessment a name", field="name")
    return checked_name(name, what="The name", field="name", max_chars=MAX_NAME_CHARS)


def _check_minutes(time_limit_minutes: int) -> None:
    if not MIN_MINUTES <= time_limit_minutes <= MAX_MINUTES:
        raise InvalidInput(f"The time limit must be between {MIN_MINUTES} and {MAX_MINUTES} "
                           "minutes", field="time_limit_minutes")


def create_assessment(*, name: str, challenge_slugs: Sequence[str], time_limit_minutes: int,
                      instructions: str, expires_at: datetime | None, show_scores: bool,
                      created_by_id: int, counting: str = "last",
                      ai_policy: str = "not_allowed",
                      assistant_available: bool = False,
                      followups: bool = False,
                      feedback_to_candidates: bool = False) -> Assessment:
    """A new assessment with the challenges in the order given."""
    name = _validated_name(name)
    chosen = _chosen_challenges(challenge_slugs)
    _check_minutes(time_limit_minutes)
    rule = _counting(counting)
    policy = assistant.checked_policy(ai_policy, assistant_available=assistant_available)
    assessment = Assessment(name=name, instructions=instructions.strip(),
                            time_limit_minutes=time_limit_minutes, expires_at=expires_at,
                            show_scores=show_scores, created_by_id=created_by_id,
                            counting=rule, ai_policy=policy, followups=followups,
                            feedback_to_candidates=feedback_to_candidates)
    assessment.items = [AssessmentChallenge(challenge=challenge, position=i)
                        for i, challenge in enumerate(chosen)]
    assessment.team_id = access.team_for_new_assessment(created_by_id)
    db.session.add(assessment)
    db.session.commit()
    return assessment


def has_started_attempts(assessment_id: int) -> bool:
    return db.session.scalar(select(func.count(Invite.id)).where(
        Invite.assessment_id == assessment_id, Invite.started_at.is_not(None))) != 0


def update_assessment(assessment_id: int, form: AssessmentForm) -> Assessment:
    """Apply the builder's form to an existing assessment.

    Once a candidate has started, the challenges stay as they are (their attempt, scores
    and comparisons rest on them), and so does the AI policy (they agreed to it); name,
    instructions, limit, expiry and scores may change.
    """
    assessment = get_assessment(assessment_id)
    name = _validated_name(form.name)
    _check_minutes(form.time_limit_minutes)
    rule = _counting(form.counting)
    policy = assistant.checked_policy(form.ai_policy,
                                      assistant_available=form.assistant_available,
                                      current=assessment.ai_policy)
    if policy is not assessment.ai_policy and has_started_attempts(assessment_id):
        raise InvalidInput("Candidates have already started this assessment under its AI "
                           "policy, so the policy can't change", field="ai_policy",
                           hint="Duplicate it and change the copy instead.")
    current = [c.slug for c in assessment.challenges]
    if list(form.challenge_slugs) != current:
        if has_started_attempts(assessment_id):
            raise InvalidInput("Candidates have already started this assessment, so its "
                               "challenges can't change", field="challenges",
                               hint="Duplicate it and change the copy instead.")
        chosen = _chosen_challenges(form.challenge_slugs)
        kept = {item.challenge_id: item for item in assessment.items}
        items = []
        for position, challenge in enumerate(chosen):
            item = kept.pop(challenge.id, None) or AssessmentChallenge(challenge=challenge)
            item.position = position
            items.append(item)
        assessment.items = items
        db.session.flush()
    assessment.name = name
    assessment.instructions = form.instructions.strip()
    assessment.time_limit_minutes = form.time_limit_minutes
    assessment.expires_at = form.expires_at
    if form.expires_at is not None:
        # Links can't outlive their assessment: unstarted invites expire with it at the latest.
        db.session.execute(
            update(Invite).where(Invite.assessment_id == assessment_id,
                                 Invite.started_at.is_(None),
                                 Invite.expires_at > form.expires_at)
            .values(expires_at=form.expires_at))
    assessment.show_scores = form.show_scores
    assessment.followups = form.followups
    assessment.feedback_to_candidates = form.feedback_to_candidates
    assessment.counting = rule
    assessment.ai_policy = policy
    db.session.commit()
    return assessment


def duplicate_assessment(assessment_id: int, *, created_by_id: int) -> Assessment:
    """A copy with the same challenges and settings, no invites, not archived."""
    source = get_assessment(assessment_id)
    name = f"Copy of {source.name}"[:MAX_NAME_CHARS]
    copy = Assessment(name=name, instructions=source.instructions,
                      time_limit_minutes=source.time_limit_minutes,
                      expires_at=source.expires_at, show_scores=source.show_scores,
                      created_by_id=created_by_id, counting=source.counting,
                      ai_policy=source.ai_policy, followups=source.followups,
                      feedback_to_candidates=source.feedback_to_candidates)
    copy.items = [AssessmentChallenge(challenge_id=item.challenge_id, position=item.position)
                  for item in source.items]
    copy.team_id = source.team_id
    db.session.add(copy)
    db.session.commit()
    return copy


def set_archived(assessment_id: int, archived: bool) -> Assessment:
    """Archive (hidden from the list, no new invites, links stop opening) or restore."""
    assessment = get_assessment(assessment_id)
    assessment.archived = archived
    db.session.commit()
    return assessment


def get_assessment(assessment_id: int) -> Assessment:
    """The assessment by id. Whether the person asking may see it was decided at the web
    boundary (``access.check_ids`` on the URL's ids) before any service runs."""
    assessment = db.session.get(Assessment, assessment_id)
    if assessment is None:
        raise NotFound(f"No assessment {assessment_id}")
    return assessment


@dataclass(frozen=True)
class AssessmentPage:
    summaries: list[AssessmentSummary]
    page: int
    pages: int
    total: int
    archived_count: int


def list_assessments(*, viewer: access.StaffViewer | None, include_archived: bool = False,
                     page: int = 1, per_page: int = PER_PAGE) -> AssessmentPage:
    """One page of the assessments ``viewer`` may see, newest first, with their invite
    counts (None: every assessment, for the command line)."""
    visible = access.restrict(select(Assessment), viewer)
    query = visible if include_archived else visible.where(Assessment.archived.is_(False))
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    archived_count = db.session.scalar(select(func.count()).select_from(
        visible.where(Assessment.archived.is_(True)).subquery())) or 0
    window = page_window(total, page, per_page)
    assessments = list(db.session.scalars(
        query.order_by(Assessment.created_at.desc(), Assessment.id.desc())
        .limit(per_page).offset(window.offset)))
    counts = invite_counts([a.id for a in assessments])
    summaries = [AssessmentSummary(a, counts[a.id]["invited"], counts[a.id]["started"],
                                   counts[a.id]["finished"]) for a in assessments]
    return AssessmentPage(summaries, window.page, window.pages, total, archived_count)


def invite_counts(assessment_ids: Sequence[int]) -> dict[int, Counter[str]]:
    """How many candidates each assessment ``invited``, and how many ``started`` and
    ``finished``, in one query."""
    counts: dict[int, Counter[str]] = {assessment_id: Counter() for assessment_id in assessment_ids}
    rows = db.session.execute(
        select(Invite.assessment_id, func.count(Invite.id), func.count(Invite.started_at),
               func.count(Invite.finished_at))
        .where(Invite.assessment_id.in_(list(counts))).group_by(Invite.assessment_id))
    for assessment_id, invited, started, finished in rows:
        counts[assessment_id].update(invited=invited, started=started, finished=finished)
    return counts


def expected_minutes(assessment: Assessment) -> int:
    return sum(c.expected_minutes for c in assessment.challenges)


# What a challenge of each kind asks the candidate to write; Python unless named here.
_WRITTEN_IN = {"sql": N_("SQL queries"), "notebook": N_("a Jupyter notebook")}


def what_candidates_write(assessment: Assessment) -> str:
    """The landing page's "You write …" from the assessment's challenges' kinds, in the
    page's language."""
    asked: list[str] = []
    for challenge in assessment.challenges:
        written = gettext(_WRITTEN_IN.get(challenge.kind, "Python"))
        if written not in asked:
            asked.append(written)
    return i18n.format_words(asked) if asked else "Python"


@dataclass(frozen=True)
class CatalogueFilter:
    kind: str = ""
    skill: str = ""
    difficulty: str = ""

    @property
    def active(self) -> bool:
        return bool(self.kind or self.skill or self.difficulty)


@dataclass(frozen=True)
class CatalogueView:
    """The catalogue cards that pass the filter, and the values each filter offers."""

    challenges: list[Challenge]
    kinds: list[str]
    skills: list[str]
    difficulties: list[str]
    total: int


def filter_catalogue(challenges: Sequence[Challenge], wanted: CatalogueFilter) -> CatalogueView:
    kinds = sorted({c.kind for c in challenges})
    skills = sorted({str(s) for c in challenges for s in c.skills}, key=str.casefold)
    difficulties = sorted({c.difficulty for c in challenges if c.difficulty},
                          key=lambda d: (DIFFICULTY_ORDER.get(d, len(DIFFICULTY_ORDER)), d))
    skill = wanted.skill.casefold()
    shown = [c for c in challenges
             if (not wanted.kind or c.kind == wanted.kind)
             and (not wanted.difficulty or c.difficulty == wanted.difficulty)
             and (not skill or skill in {str(s).casefold() for s in c.skills})]
    return CatalogueView(shown, kinds, skills, difficulties, len(challenges))


DIFFICULTY_ORDER = {"easy": 0, "medium": 1, "hard": 2}


@dataclass(frozen=True)
class StatementPreview:
    challenge: Challenge
    statement: Markup


def statement_preview(slug: str) -> StatementPreview:
    """A catalogue challenge's statement rendered as its candidates read it."""
    from heldout.platform import markdown
    from heldout.platform.services.catalogue import get_bundles

    challenge = db.session.scalar(
        select(Challenge).where(Challenge.slug == slug, Challenge.available))
    if challenge is None:
        raise NotFound(f"No challenge {slug!r} in the catalogue")
    bundle = get_bundles().for_challenge(challenge)
    return StatementPreview(challenge, markdown.render_statement(bundle.statement, bundle.profile))
