"""Small charts for reports as inline SVG, drawn on the server (no script, no CDN).

Every chart has a <title> and <desc> (read by screen readers), text labels for its numbers,
and ``data-*`` attributes naming the values it marks. Text is escaped: labels may come
from bundles or candidates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup, escape

WIDTH = 560
FONT = 'font-family="inherit" font-size="12"'


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _label(value: float) -> str:
    return f"{value:.4g}"


def _svg(width: int, height: int, title: str, desc: str, body: list[str], *,
         cls: str, data: dict[str, str] | None = None) -> Markup:
    attributes = "".join(f' data-{k}="{escape(v)}"' for k, v in (data or {}).items())
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {cls}" role="img" '
            f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
            f'preserveAspectRatio="xMinYMin meet"{attributes}>'
            f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>")
    # Every piece of text inside was escaped where it was put in; numbers are formatted here.
    return Markup(head + "".join(body) + "</svg>")  # noqa: S704


def points_bar(earned: float, possible: float, *, title: str = "Check points") -> Markup:
    """A bar of points earned out of points possible."""
    width, height, left = WIDTH, 28, 0
    share = 0.0 if possible <= 0 else max(0.0, min(1.0, earned / possible))
    inner = width - 150
    body = [
        f'<rect class="track" x="{left}" y="6" width="{inner}" height="14" rx="3"/>',
        f'<rect class="fill" x="{left}" y="6" width="{_num(inner * share)}" height="14" rx="3"/>',
        f'<text x="{inner + 10}" y="18" {FONT}>{escape(_num(earned))} of '
        f'{escape(_num(possible))} points</text>',
    ]
    return _svg(width, height, title, f"{_num(earned)} of {_num(possible)} points earned",
                body, cls="chart-points", data={"earned": _num(earned), "possible": _num(possible)})


@dataclass(frozen=True)
class MetricScaleView:
    """A metric's baseline (0 points) and target (all points), and the candidate's value."""

    metric: str
    title: str
    baseline: float
    target: float
    higher_is_better: bool
    value: float | None


def metric_axis(scale: MetricScaleView) -> Markup:
    """One axis with the baseline and target ticked and the candidate's value marked."""
    width, height, pad = WIDTH, 74, 40
    values = [scale.baseline, scale.target] + ([scale.value] if scale.value is not None else [])
    low, high = min(values), max(values)
    span = (high - low) or abs(high) or 1.0
    low, high = low - span * 0.08, high + span * 0.08

    def x(v: float) -> float:
        return pad + (v - low) / (high - low) * (width - 2 * pad)

    xb, xt = x(scale.baseline), x(scale.target)
    body = [
        f'<line class="axis" x1="{pad}" y1="38" x2="{width - pad}" y2="38"/>',
        f'<rect class="band" x="{_num(min(xb, xt))}" y="32" width="{_num(abs(xt - xb))}" '
        'height="12"/>',
        f'<line class="tick" x1="{_num(xb)}" y1="28" x2="{_num(xb)}" y2="48"/>',
        f'<text x="{_num(xb)}" y="62" text-anchor="middle" {FONT}>baseline '
        f'{escape(_label(scale.baseline))}</text>',
        f'<line class="tick" x1="{_num(xt)}" y1="28" x2="{_num(xt)}" y2="48"/>',
        f'<text x="{_num(xt)}" y="62" text-anchor="middle" {FONT}>target '
        f'{escape(_label(scale.target))}</text>',
    ]
    direction = "higher" if scale.higher_is_better else "lower"
    desc = (f"{scale.title}: baseline {_label(scale.baseline)} (0 points), target "
            f"{_label(scale.target)} (all points), {direction} is better")
    data = {"metric": scale.metric, "baseline": _label(scale.baseline),
            "target": _label(scale.target)}
    if scale.value is not None:
        xv = x(scale.value)
        body += [
            f'<path class="marker" d="M{_num(xv)} 36 l-6 -12 h12 z"/>',
            f'<text class="marker-label" x="{_num(xv)}" y="18" text-anchor="middle" {FONT}>'
            f'candidate {escape(_label(scale.value))}</text>',
        ]
        desc += f"; this candidate {_label(scale.value)}"
        data["value"] = _label(scale.value)
    return _svg(width, height, f"{scale.title} against baseline and target", desc, body,
                cls="chart-metric", data=data)


def score_distribution(scores: Sequence[float], marked: float | None, *,
                       bins: int = 10) -> Markup:
    """How many candidates scored in each tenth of 0-100, this candidate's bin marked (the
    scores are those of the report's population: the team's candidates of one version)."""
    # The marker's label sits above the tallest bar's count: ``top`` leaves room for both.
    width, height, pad, top, bottom = WIDTH, 170, 30, 34, 30
    counts = [0] * bins
    for score in scores:
        counts[min(bins - 1, max(0, int(score * bins // 100)))] += 1
    peak = max(counts) or 1
    mark_bin = None if marked is None else min(bins - 1, max(0, int(marked * bins // 100)))
    plot_w, plot_h = width - 2 * pad, height - top - bottom
    bar_w = plot_w / bins
    body = [f'<line class="axis" x1="{pad}" y1="{top + plot_h}" x2="{width - pad}" '
            f'y2="{top + plot_h}"/>']
    for i, count in enumerate(counts):
        h = plot_h * count / peak
        x0 = pad + i * bar_w
        cls = "bar marked" if i == mark_bin else "bar"
        body.append(f'<rect class="{cls}" x="{_num(x0 + 1)}" y="{_num(top + plot_h - h)}" '
                    f'width="{_num(bar_w - 2)}" height="{_num(h)}"><title>'
                    f"{i * 100 // bins} to {(i + 1) * 100 // bins}: {count} candidate"
                    f'{"" if count == 1 else "s"}</title></rect>')
        if count:
            body.append(f'<text x="{_num(x0 + bar_w / 2)}" y="{_num(top + plot_h - h - 3)}" '
                        f'text-anchor="middle" font-size="10">{count}</text>')
    for tick in range(0, 101, 20):
        tx = pad + plot_w * tick / 100
        body.append(f'<text x="{_num(tx)}" y="{height - 12}" text-anchor="middle" {FONT}>'
                    f"{tick}</text>")
    data = {"count": str(len(scores))}
    desc = f"Scores of {len(scores)} graded candidate{'s' if len(scores) != 1 else ''}"
    if marked is not None:
        mx = pad + plot_w * max(0.0, min(100.0, marked)) / 100
        anchor = "end" if marked > 80 else "start" if marked < 20 else "middle"
        body += [f'<line class="marker-line" x1="{_num(mx)}" y1="{top - 18}" x2="{_num(mx)}" '
                 f'y2="{top + plot_h}"/>',
                 f'<text class="marker-label" x="{_num(mx)}" y="{top - 22}" '
                 f'text-anchor="{anchor}" {FONT}>this candidate {_num(marked)}</text>']
        data["marked"] = _num(marked)
        desc += f"; this candidate scored {_num(marked)}"
    return _svg(width, height, "Score distribution of this team's candidates of this version", desc,
                body, cls="chart-distribution", data=data)


@dataclass(frozen=True)
class TimelinePoint:
    at: datetime
    score: float | None  # None: not graded (queued, running, platform error) or a draft
    label: str
    kind: str = "submission"  # or "draft", or "event" (an editor event, at the top)


def timeline(points: Sequence[TimelinePoint], start: datetime, end: datetime) -> Markup:
    """Submissions (and drafts) over the attempt's time, each dot at its score's height."""
    width, height, pad, top, bottom = WIDTH, 130, 34, 12, 30
    plot_w, plot_h = width - 2 * pad, height - top - bottom
    total = max((end - start).total_seconds(), 1.0)

    def x(at: datetime) -> float:
        return pad + plot_w * max(0.0, min(1.0, (at - start).total_seconds() / total))

    def y(score: float) -> float:
        return top + plot_h * (1 - max(0.0, min(100.0, score)) / 100)

    body = [f'<line class="axis" x1="{pad}" y1="{top + plot_h}" x2="{width - pad}" '
            f'y2="{top + plot_h}"/>',
            f'<line class="axis" x1="{pad}" y1="{top}" x2="{pad}" y2="{top + plot_h}"/>',
            f'<text x="{pad - 4}" y="{top + 4}" text-anchor="end" font-size="10">100</text>',
            f'<text x="{pad - 4}" y="{top + plot_h}" text-anchor="end" font-size="10">0</text>',
            f'<text x="{pad}" y="{height - 10}" {FONT}>start</text>',
            f'<text x="{width - pad}" y="{height - 10}" text-anchor="end" {FONT}>'
            f'{escape(_minutes(total))}</text>']
    graded = [p for p in points if p.score is not None and p.kind == "submission"]
    if len(graded) > 1:
        path = " ".join(f"{'M' if i == 0 else 'L'}{_num(x(p.at))} {_num(y(p.score or 0))}"
                        for i, p in enumerate(graded))
        body.append(f'<path class="line" d="{path}"/>')
    for p in points:
        px = x(p.at)
        minute = _minutes((p.at - start).total_seconds())
        if p.kind == "event":
            body.append(f'<path class="editor-event" d="M{_num(px)} {top} l-4 -7 h8 z">'
                        f"<title>{escape(p.label)} ({minute} in)</title></path>")
        elif p.kind == "draft":
            body.append(f'<rect class="draft" x="{_num(px - 2)}" y="{top + plot_h - 8}" '
                        f'width="4" height="8"><title>{escape(p.label)} at {minute}</title>'
                        "</rect>")
        elif p.score is None:
            body.append(f'<circle class="dot pending" cx="{_num(px)}" cy="{top + plot_h}" '
                        f'r="4"><title>{escape(p.label)} at {minute}: not graded</title>'
                        "</circle>")
        else:
            body.append(f'<circle class="dot" cx="{_num(px)}" cy="{_num(y(p.score))}" r="4">'
                        f"<title>{escape(p.label)} at {minute}: {_num(p.score)}</title></circle>"
                        f'<text x="{_num(px)}" y="{_num(y(p.score) - 7)}" text-anchor="middle" '
                        f'font-size="10">{_num(p.score)}</text>')
    count = sum(1 for p in points if p.kind == "submission")
    drafts = sum(1 for p in points if p.kind == "draft")
    events = sum(1 for p in points if p.kind == "event")
    desc = f"{count} submission{'s' if count != 1 else ''} over {_minutes(total)}"
    if drafts:
        desc += f" and {drafts} draft save{'s' if drafts != 1 else ''}"
    if events:
        desc += f", {events} editor event{'s' if events != 1 else ''}"
    return _svg(width, height, "Submissions over time", desc, body, cls="chart-timeline",
                data={"submissions": str(count), "drafts": str(drafts),
                      "events": str(events)})


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 60 else f"{seconds:.0f} s"


def skills_profile(skills: Sequence[tuple[str, float]]) -> Markup:
    """A bar per skill tag: the mean score of the challenges that assess it."""
    row, left, pad = 22, 190, 8
    width, height = WIDTH, max(row * len(skills) + pad * 2, 30)
    inner = width - left - 60
    body = []
    for i, (skill, score) in enumerate(skills):
        y0 = pad + i * row
        share = max(0.0, min(100.0, score)) / 100
        body += [f'<text x="{left - 8}" y="{y0 + 14}" text-anchor="end" {FONT}>'
                 f"{escape(skill)}</text>",
                 f'<rect class="track" x="{left}" y="{y0 + 3}" width="{inner}" height="14" '
                 'rx="3"/>',
                 f'<rect class="fill" x="{left}" y="{y0 + 3}" width="{_num(inner * share)}" '
                 f'height="14" rx="3"/>',
                 f'<text x="{left + inner + 8}" y="{y0 + 14}" {FONT}>{_num(score)}</text>']
    desc = "; ".join(f"{skill} {_num(score)}" for skill, score in skills) or "no skills"
    return _svg(width, height, "Skills profile (score per skill tag)", desc, body,
                cls="chart-skills", data={"skills": str(len(skills))})
