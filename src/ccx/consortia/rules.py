"""The rules of consortia (pure): checks on a new consortium, on who may join in which role,
and on a shared model's entry."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

from ccx.consortia.types import (
    METRICS_MAX,
    MODEL_TEXT_CHARS_MAX,
    NAME_CHARS_MAX,
    MemberRole,
    Metric,
    NewConsortium,
    NewSharedModel,
)
from ccx.programs.drawing import certification_reasons
from ccx.programs.rules import text_problems
from ccx.programs.types import Reason, ReasonCode
from ccx.registry.types import (
    Certification,
    EligibilityDecision,
    Organisation,
    OrgKind,
    Person,
    PersonRole,
)

INDUSTRY_PATTERN = re.compile(r"[A-U]([0-9]{2})?")
"""A KSIC section letter, or a section with its two-digit division (C30)."""
DECIMAL_PATTERN = re.compile(r"-?[0-9]{1,30}(\.[0-9]{1,30})?")
ROLE_KINDS = {
    MemberRole.ANCHOR: OrgKind.MID_SIZED,
    MemberRole.SME: OrgKind.SME,
    MemberRole.UNIVERSITY: OrgKind.UNIVERSITY,
    MemberRole.INTEGRATOR: OrgKind.INTEGRATOR,
}
"""The kind of organisation each role is for (a researcher's organisation for `university`)."""


def consortium_problems(new: NewConsortium) -> list[str]:
    """Everything wrong with a new consortium's fields; empty when they are fine."""
    problems = text_problems("name", new.name, chars_max=NAME_CHARS_MAX)
    if not INDUSTRY_PATTERN.fullmatch(new.industry):
        problems.append(f"industry {new.industry!r} is not a KSIC section (C) or division (C30)")
    if not new.regions:
        problems.append("a consortium names at least one region")
    if len(set(new.regions)) != len(new.regions):
        problems.append("a region is named twice")
    return problems


def member_reasons(
    role: MemberRole,
    org: Organisation,
    *,
    industry: str,
    person: Person | None,
    sme: EligibilityDecision | None,
    certification: Certification | None,
    today: date,
) -> list[Reason]:
    """Every reason `org` (or its researcher `person`) may not join in `role`; empty when it
    may. The anchor and SMEs must be in the consortium's industry; `sme` is the SME test on
    `today` (for the SME role), `certification` the integrator's."""
    if org.kind is not ROLE_KINDS[role]:
        return [
            Reason(
                ReasonCode.WRONG_KIND_FOR_ROLE,
                f"organisation {org.id} is a {org.kind.value}; the {role.value} role is for a"
                f" {ROLE_KINDS[role].value}",
            )
        ]
    reasons = []
    if role in (MemberRole.ANCHOR, MemberRole.SME) and not org.ksic_code.startswith(industry):
        reasons.append(
            Reason(
                ReasonCode.NOT_IN_INDUSTRY,
                f"organisation {org.id} is in KSIC {org.ksic_code}, outside {industry}",
            )
        )
    if sme is not None:
        reasons += [Reason(ReasonCode.NOT_AN_SME, text) for text in sme.reasons]
    if role is MemberRole.INTEGRATOR:
        reasons += certification_reasons(org.id, certification, today)
    if role is MemberRole.UNIVERSITY and (
        person is None or person.role is not PersonRole.RESEARCHER
    ):
        reasons.append(
            Reason(ReasonCode.NOT_A_RESEARCHER, "a university takes part through a researcher")
        )
    return reasons


def _metric_problems(metrics: Sequence[Metric]) -> list[str]:
    problems = []
    if len(metrics) > METRICS_MAX:
        problems.append(f"at most {METRICS_MAX} evaluation figures")
    names = [metric.name for metric in metrics]
    if len(set(names)) != len(names):
        problems.append("an evaluation figure is named twice")
    for number, metric in enumerate(metrics, start=1):
        problems += text_problems(f"metric {number} name", metric.name, chars_max=NAME_CHARS_MAX)
        if not DECIMAL_PATTERN.fullmatch(metric.value):
            problems.append(
                f"metric {metric.name!r}: {metric.value!r} is not a decimal number (0.874)"
            )
    return problems


def model_problems(new: NewSharedModel) -> list[str]:
    """Everything wrong with a shared model's entry; empty when it may be registered."""
    texts = {
        "name": new.name,
        "base model": new.base_model,
        "task": new.task,
        "hardware profile": new.hardware_profile,
        "licence": new.licence,
    }
    return [
        *(
            problem
            for field, value in texts.items()
            for problem in text_problems(field, value, chars_max=MODEL_TEXT_CHARS_MAX)
        ),
        *_metric_problems(new.metrics),
    ]
