"""What the API takes and answers, as marshmallow schemas: they check requests and make
the OpenAPI document. Values come from the services; nothing here decides a rule."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from heldout.platform.services import assessments, bulk_invites, integrity_signals, invites
from heldout.platform.statuses import AiPolicy, Counting, InviteState

COUNTINGS = tuple(Counting)
SIGNAL_KINDS = integrity_signals.SOURCE_NAMES
AI_POLICIES = tuple(AiPolicy)
AI_POLICY_HELP = ("What candidates may do with AI tools: `not_allowed`, `disclosure` (allowed; "
                  "they say what they used before finishing) or `assistant` (the workspace's "
                  "assistant only, its conversation kept; needs the server's HELDOUT_AI_URL).")
FOLLOWUPS_HELP = ("Whether each candidate, after finishing, answers 2-3 short timed questions "
                  "about their own code; answers and timings are evidence in the report, never "
                  "in the score. Off by default.")
FEEDBACK_HELP = ("Whether candidates get their feedback once their attempt is complete: their "
                 "own score per challenge and which checks passed (names and pass/fail only), "
                 "on their done page and once by e-mail. Off by default.")

Aware = fields.AwareDateTime  # ISO 8601 with an offset; naive times are read as UTC


def _when(description: str, *, required: bool = False,
          allow_none: bool = False) -> fields.AwareDateTime:
    """A time, answered in UTC with its offset; one sent without an offset is read as UTC."""
    return Aware(default_timezone=UTC, metadata={"description": description},
                 required=required, allow_none=allow_none)


# --- the catalogue -----------------------------------------------------------------------------



class JsonBoolean(fields.Boolean):
    """A JSON body's boolean: ``true`` or ``false`` only (marshmallow's own also takes 0, 1,
    "yes", "on"… which the document, saying ``boolean``, does not promise)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value

class CatalogueQuery(ma.Schema):
    kind = fields.String(validate=validate.Length(max=40),
                         metadata={"description": "Only challenges of this kind."})
    skill = fields.String(validate=validate.Length(max=80),
                          metadata={"description": "Only challenges tagged with this skill."})
    difficulty = fields.String(validate=validate.Length(max=40))


class Challenge(ma.Schema):
    slug = fields.String(required=True)
    title = fields.String(required=True)
    kind = fields.String(required=True)
    summary = fields.String(required=True)
    difficulty = fields.String(required=True)
    expected_minutes = fields.Integer(required=True)
    skills = fields.List(fields.String(), required=True)
    version = fields.String(required=True, metadata={
        "description": "The bundle version new submissions are graded against (sha256:…)."})
    entrypoint = fields.String(required=True)


class ChallengeDetail(Challenge):
    statement = fields.String(required=True, metadata={
        "description": "What candidates read, as Markdown."})


# --- assessments -------------------------------------------------------------------------------

class AssessmentQuery(ma.Schema):
    include_archived = fields.Boolean(load_default=False, metadata={
        "description": "Archived assessments too (else only the current ones)."})


class Assessment(ma.Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    instructions = fields.String(required=True)
    challenges = fields.List(fields.String(), required=True,
                             metadata={"description": "Challenge slugs, in order."})
    time_limit_minutes = fields.Integer(required=True)
    expected_minutes = fields.Integer(required=True, metadata={
        "description": "The challenges' expected minutes, summed."})
    expires_at = _when("After this, links no longer open (null: never).", required=True,
                       allow_none=True)
    show_scores = fields.Boolean(required=True)
    followups = fields.Boolean(required=True, metadata={"description": FOLLOWUPS_HELP})
    feedback_to_candidates = fields.Boolean(required=True, metadata={
        "description": FEEDBACK_HELP})
    counting = fields.String(required=True, validate=validate.OneOf(COUNTINGS))
    ai_policy = fields.String(required=True, validate=validate.OneOf(AI_POLICIES),
                              metadata={"description": AI_POLICY_HELP})
    archived = fields.Boolean(required=True)
    team_id = fields.Integer(required=True, allow_none=True,
                             metadata={"description": "null: the default team."})
    created_by = fields.String(required=True, metadata={"description": "E-mail of its maker."})
    created_at = _when("", required=True)
    invited = fields.Integer(required=True)
    started = fields.Integer(required=True)
    finished = fields.Integer(required=True)


class AssessmentFields(ma.Schema):
    name = fields.String(validate=validate.Length(min=1, max=assessments.MAX_NAME_CHARS))
    challenges = fields.List(fields.String(validate=validate.Length(min=1, max=100)),
                             validate=validate.Length(min=1, max=50),
                             metadata={"description": "Challenge slugs, in order."})
    time_limit_minutes = fields.Integer(validate=validate.Range(
        min=assessments.MIN_MINUTES, max=assessments.MAX_MINUTES))
    instructions = fields.String(validate=validate.Length(max=20_000))
    expires_at = _when("After this, links no longer open (null: never).", allow_none=True)
    show_scores = JsonBoolean()
    followups = JsonBoolean(metadata={"description": FOLLOWUPS_HELP})
    feedback_to_candidates = JsonBoolean(metadata={"description": FEEDBACK_HELP})
    counting = fields.String(validate=validate.OneOf(COUNTINGS), metadata={
        "description": "Which graded submission counts: the last, or the best."})
    ai_policy = fields.String(validate=validate.OneOf(AI_POLICIES), metadata={
        "description": AI_POLICY_HELP + " It can't change once a candidate has started."})


class AssessmentCreate(AssessmentFields):
    name = fields.String(required=True,
                         validate=validate.Length(min=1, max=assessments.MAX_NAME_CHARS))
    challenges = fields.List(fields.String(validate=validate.Length(min=1, max=100)),
                             required=True, validate=validate.Length(min=1, max=50),
                             metadata={"description": "Challenge slugs, in order."})
    time_limit_minutes = fields.Integer(required=True, validate=validate.Range(
        min=assessments.MIN_MINUTES, max=assessments.MAX_MINUTES))


# --- invites -----------------------------------------------------------------------------------

class InviteQuery(ma.Schema):
    status = fields.String(validate=validate.OneOf(invites.STATES))
    changed_since = _when("Only invites created, sent, opened, started, finished or revoked "
                           "at this time or later.")


class Invite(ma.Schema):
    id = fields.Integer(required=True)
    assessment_id = fields.Integer(required=True)
    candidate_name = fields.String(required=True)
    candidate_email = fields.String(required=True)
    note = fields.String(required=True, allow_none=True)
    status = fields.String(required=True, validate=validate.OneOf(invites.STATES))
    created_at = _when("", required=True)
    sent_at = _when("When the current link was made.", required=True, allow_none=True)
    expires_at = _when("", required=True)
    opened_at = _when("", required=True, allow_none=True)
    started_at = _when("", required=True, allow_none=True)
    finished_at = _when("", required=True, allow_none=True)
    revoked_at = _when("", required=True, allow_none=True)
    delivery = fields.String(required=True, allow_none=True, metadata={
        "description": "How the current link was handed over: email, download, page, api."})
    send_error = fields.String(required=True, allow_none=True)
    resends = fields.Integer(required=True)
    attempt_id = fields.Integer(required=True, allow_none=True)
    score = fields.Float(required=True, allow_none=True,
                         metadata={"description": "The total, once submitted and graded."})


class NewInvite(Invite):
    link = fields.String(required=True, metadata={
        "description": "The candidate's link: given only in this answer (never stored)."})


class Candidate(ma.Schema):
    name = fields.String(required=True, validate=validate.Length(max=invites.MAX_NAME_CHARS))
    email = fields.String(required=True, validate=validate.Length(max=254))
    note = fields.String(load_default="", validate=validate.Length(max=invites.MAX_NOTE_CHARS))


class InviteCreate(ma.Schema):
    candidates = fields.List(fields.Nested(Candidate), required=True,
                             validate=validate.Length(min=1, max=bulk_invites.MAX_CSV_ROWS))
    send_email = JsonBoolean(load_default=False, metadata={
        "description": "Also e-mail each candidate their link (when the server has SMTP)."})


class Skipped(ma.Schema):
    position = fields.Integer(required=True,
                              metadata={"description": "In the list sent, from 1."})
    reason = fields.String(required=True)


class InvitesCreated(ma.Schema):
    created = fields.List(fields.Nested(NewInvite), required=True)
    skipped = fields.List(fields.Nested(Skipped), required=True, metadata={
        "description": "Candidates left out (bad, twice in the list, already invited)."})


class Resend(ma.Schema):
    send_email = JsonBoolean(load_default=False)


class Extend(ma.Schema):
    expires_at = _when("The link's new expiry (the same link keeps working).", required=True)


# --- attempts and reports ----------------------------------------------------------------------

# An attempt's invite is started (time left) or finished (Finish pressed, or time up).
ATTEMPT_STATES = (InviteState.STARTED, InviteState.FINISHED)


class AttemptQuery(ma.Schema):
    status = fields.String(validate=validate.OneOf(ATTEMPT_STATES))
    updated_since = _when("Only attempts where something happened at this time or later: "
                           "started, finished, a submission made or graded, a review saved.")


class ChallengeState(ma.Schema):
    slug = fields.String(required=True)
    state = fields.String(required=True, metadata={
        "description": "not submitted, grading, graded or platform error."})
    score = fields.Float(required=True, allow_none=True)
    version = fields.String(required=True, allow_none=True,
                            metadata={"description": "The version the score was graded on."})


class Attempt(ma.Schema):
    id = fields.Integer(required=True)
    invite_id = fields.Integer(required=True)
    assessment_id = fields.Integer(required=True)
    candidate_name = fields.String(required=True)
    candidate_email = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(ATTEMPT_STATES))
    started_at = _when("", required=True)
    deadline = _when("", required=True)
    finished_at = _when("", required=True, allow_none=True)
    finish_reason = fields.String(required=True, allow_none=True)
    time_used_seconds = fields.Integer(required=True)
    total = fields.Float(required=True, allow_none=True, metadata={
        "description": "Mean of the challenges' scores; null while grading or when nothing "
                       "was submitted."})
    percentile = fields.Float(required=True, allow_none=True)
    no_submission = fields.Boolean(required=True)
    review_status = fields.String(required=True)
    recommendation = fields.String(required=True, allow_none=True)
    challenges = fields.List(fields.Nested(ChallengeState), required=True)


class Check(ma.Schema):
    name = fields.String(required=True)
    kind = fields.String(required=True)
    passed = fields.Boolean(required=True, allow_none=True)
    score = fields.Float(required=True, allow_none=True)
    max_score = fields.Float(required=True, allow_none=True)
    detail = fields.String(required=True)


class SubmissionLine(ma.Schema):
    id = fields.Integer(required=True)
    status = fields.String(required=True)
    created_at = _when("", required=True)
    finished_at = _when("", required=True, allow_none=True)
    score = fields.Float(required=True, allow_none=True)
    version = fields.String(required=True)


class PublicRuns(ma.Schema):
    count = fields.Integer(required=True)
    statuses = fields.List(fields.String(), required=True)
    times = fields.List(_when(""), required=True)


class ReportChallenge(ChallengeState):
    title = fields.String(required=True)
    kind = fields.String(required=True)
    percentile = fields.Float(required=True, allow_none=True)
    peers = fields.Integer(required=True, metadata={
        "description": "Other candidates graded on the same version."})
    counted_submission_id = fields.Integer(required=True, allow_none=True)
    checks = fields.List(fields.Nested(Check), required=True)
    metrics = fields.Dict(keys=fields.String(), values=fields.Raw(), required=True)
    run = fields.Dict(required=True, allow_none=True, metadata={
        "description": "The counted submission's run: exit, time, memory, output tails."})
    submissions = fields.List(fields.Nested(SubmissionLine), required=True)
    public_runs = fields.Nested(PublicRuns, required=True, metadata={
        "description": "Runs of the public checks while working (never counted)."})
    draft_snapshots = fields.Integer(required=True, metadata={
        "description": "Autosaved snapshots of the work, for playback on the report page."})


class Skill(ma.Schema):
    skill = fields.String(required=True)
    score = fields.Float(required=True)


class ReviewLine(ma.Schema):
    reviewer = fields.String(required=True)
    recommendation = fields.String(required=True)
    levels = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    notes = fields.String(required=True)
    submitted_at = _when("", required=True, allow_none=True)


class Reviews(ma.Schema):
    submitted = fields.Integer(required=True)
    consensus = fields.String(required=True, allow_none=True)
    hidden = fields.Integer(required=True, metadata={
        "description": "Others' reviews not shown: an interviewer sees them once they have "
                       "submitted their own, as on the report page."})
    items = fields.List(fields.Nested(ReviewLine), required=True)


class AiTurn(ma.Schema):
    role = fields.String(required=True, validate=validate.OneOf(("candidate", "assistant",
                                                                  "error")))
    challenge = fields.String(required=True, metadata={
        "description": "Slug of the challenge whose workspace it was typed in."})
    content = fields.String(required=True)
    tokens = fields.Integer(required=True)
    created_at = _when("", required=True)


class AiUse(ma.Schema):
    policy = fields.String(required=True, validate=validate.OneOf(AI_POLICIES),
                           metadata={"description": AI_POLICY_HELP})
    disclosure = fields.String(required=True, allow_none=True, metadata={
        "description": "Under `disclosure`: what the candidate said they used (null: not "
                       "asked, not finished yet, or the time ran out first)."})
    tokens_used = fields.Integer(required=True)
    transcript = fields.List(fields.Nested(AiTurn), required=True, metadata={
        "description": "The whole conversation with the workspace's assistant, oldest first."})


class SignalEvidence(ma.Schema):
    page = fields.String(required=True, metadata={
        "description": "The staff page that shows it (a full URL)."})
    submission_id = fields.Integer(required=True, allow_none=True, metadata={
        "description": "The candidate's submission it is about: one of `challenges[]."
                       "submissions[].id` in this report."})
    similarity_pair_id = fields.Integer(required=True, allow_none=True, metadata={
        "description": "For `similarity`: the pair of submissions compared."})
    editor_event_id = fields.Integer(required=True, allow_none=True, metadata={
        "description": "For `paste`: the editor event (its time and size are in `reason`)."})


class SignalReviewState(ma.Schema):
    reviewed = fields.Boolean(required=True)
    note = fields.String(required=True, allow_none=True)
    reviewed_by = fields.String(required=True, allow_none=True, metadata={
        "description": "The reviewer's e-mail (null: not reviewed, or a deleted user)."})
    reviewed_at = _when("", required=True, allow_none=True)


class Signal(ma.Schema):
    key = fields.String(required=True, metadata={
        "description": "Stable across calls: what a review marks."})
    kind = fields.String(required=True, validate=validate.OneOf(SIGNAL_KINDS), metadata={
        "description": "`similarity` (code like another candidate's), `ml` (the integrity "
                       "run's findings, or a final score well below the public one) or "
                       "`paste` (a large paste into the editor)."})
    challenge = fields.String(required=True, allow_none=True,
                              metadata={"description": "The challenge's slug."})
    title = fields.String(required=True)
    reason = fields.String(required=True)
    review_suggested = fields.Boolean(required=True, metadata={
        "description": "Always true: evidence for a reviewer, never a verdict nor a score "
                       "penalty."})
    evidence = fields.Nested(SignalEvidence, required=True)
    review = fields.Nested(SignalReviewState, required=True)


class Report(ma.Schema):
    attempt = fields.Nested(Attempt, required=True)
    assessment = fields.String(required=True)
    time_limit_minutes = fields.Integer(required=True)
    counting = fields.String(required=True)
    peers = fields.Integer(required=True)
    skills = fields.List(fields.Nested(Skill), required=True)
    challenges = fields.List(fields.Nested(ReportChallenge), required=True)
    reviews = fields.Nested(Reviews, required=True)
    ai = fields.Nested(AiUse, required=True, metadata={
        "description": "The assessment's AI policy and what the candidate did under it."})
    integrity = fields.List(fields.Nested(Signal), required=True, metadata={
        "description": "Every integrity signal that fired, as the report page's integrity "
                       "panel lists them, each with its review (staff only)."})


class ExportQuery(ma.Schema):
    status = fields.String(validate=validate.OneOf(tuple(InviteState)),
                           metadata={"description": "Only candidates in this state."})
    q = fields.String(validate=validate.Length(max=100),
                      metadata={"description": "Part of a candidate's name or e-mail."})


class ExportCandidate(ma.Schema):
    candidate = fields.String(required=True)
    email = fields.String(required=True)
    status = fields.String(required=True)
    attempt_id = fields.Integer(required=True, allow_none=True)
    started_at = fields.String(required=True, allow_none=True)
    time_used_seconds = fields.Integer(required=True, allow_none=True)
    scores = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True), required=True)
    challenge_states = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    versions = fields.Dict(keys=fields.String(), values=fields.String(allow_none=True),
                           required=True)
    submissions = fields.Dict(keys=fields.String(), values=fields.Integer(allow_none=True),
                              required=True, metadata={
                                  "description": "The counted submission of each challenge."})
    total = fields.Float(required=True, allow_none=True)
    percentile = fields.Float(required=True, allow_none=True)
    review_status = fields.String(required=True)
    recommendation = fields.String(required=True, allow_none=True)


class ExportAssessment(ma.Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    challenges = fields.List(fields.String(), required=True)


class Export(ma.Schema):
    assessment = fields.Nested(ExportAssessment, required=True)
    candidates = fields.List(fields.Nested(ExportCandidate), required=True)


class CandidateEmail(ma.Schema):
    email = fields.String(required=True, validate=validate.Length(min=3, max=254), metadata={
        "description": "The candidate's e-mail address, as they were invited."})


class ErasureReceipt(ma.Schema):
    email_sha256 = fields.String(required=True)
    at = _when("", required=True)
    rows = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True,
                       metadata={"description": "Rows deleted, by table."})
    blobs_removed = fields.Integer(required=True)
    audit_events_anonymised = fields.Integer(required=True)
    webhook_deliveries_redacted = fields.Integer(required=True)
    notes = fields.List(fields.String(), required=True)
