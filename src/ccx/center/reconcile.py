"""reconcile(desired, actual): the changes that bring a centre to a plan. Pure.

Rules:
- the NoDecay QOS is created when missing (every ccx account uses it);
- billing weights are set as one change when they differ from the plan's in any way (an
  accelerator the plan has no rate for is dropped: the plan must name every type it prices);
- a missing account is created with its limit; an existing one gets SET_LIMIT when it differs;
- users are added and removed to match the plan;
- an account no longer in the plan is never deleted (its jobs' usage history refers to it):
  its limit is set to 0, which stops new jobs while running ones finish.
Accounts outside ccx's prefix are not in `actual` and so never touched.
"""

from __future__ import annotations

from ccx.center.types import AccountLimit, CenterPlan, CenterState, Change, ChangeKind


def reconcile(desired: CenterPlan, actual: CenterState) -> list[Change]:
    changes: list[Change] = []
    if not actual.no_decay_qos:
        changes.append(Change(ChangeKind.CREATE_QOS))
    changes.extend(_weight_changes(desired, actual))
    current = {a.account: a for a in actual.accounts}
    for account in desired.accounts:
        changes.extend(_account_changes(account, current.get(account.account)))
    wanted = {a.account for a in desired.accounts}
    for account in actual.accounts:
        if account.account not in wanted and account.billing_minutes_max != 0:
            changes.append(Change(ChangeKind.SET_LIMIT, account=account.account))
    return changes


def _weight_changes(desired: CenterPlan, actual: CenterState) -> list[Change]:
    wanted = desired.billing_weights_milli()
    current = dict(actual.billing_weights_milli)
    if current == wanted:
        return []
    return [
        Change(ChangeKind.SET_BILLING_WEIGHTS, billing_weights_milli=tuple(sorted(wanted.items())))
    ]


def _account_changes(desired: AccountLimit, actual: AccountLimit | None) -> list[Change]:
    name = desired.account
    if actual is None:
        create = Change(
            ChangeKind.CREATE_ACCOUNT, account=name, billing_minutes_max=desired.billing_minutes_max
        )
        return [create, *(Change(ChangeKind.ADD_USER, account=name, user=u) for u in desired.users)]
    changes: list[Change] = []
    if actual.billing_minutes_max != desired.billing_minutes_max:
        changes.append(
            Change(
                ChangeKind.SET_LIMIT, account=name, billing_minutes_max=desired.billing_minutes_max
            )
        )
    present = set(actual.users)
    changes.extend(
        Change(ChangeKind.ADD_USER, account=name, user=u) for u in desired.users if u not in present
    )
    changes.extend(
        Change(ChangeKind.REMOVE_USER, account=name, user=u)
        for u in actual.users
        if u not in set(desired.users)
    )
    return changes
