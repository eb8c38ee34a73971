"""ledger: a set-based path for batches of plain transfers on PostgreSQL

`ledger_create_plain_transfers` takes a batch in which every transfer is plain (no flags, no
hold, no timeout). When it can tell without running the events one by one that every event
meets the rules of `ccx.ledger.core` that read the ledger's state, it decides the batch in a few
set-based statements; otherwise it changes nothing and answers "not decided", and the caller
runs the batch through `ledger_create_transfers` in the same transaction.

It decides when:

- no id repeats within the batch, is stored, or is remembered as failed (so no event answers
  `exists`, `exists_with_different_fields` or `id_already_failed`);
- every account the batch's valid events name exists, is open, has the ledger of each of those
  events, cannot overflow even after all of the batch's moves, and keeps its limit flag with
  the counters it had before the batch plus all of the batch's moves against it (plain events
  only add to posted counters, so each event's check then passes at its turn, too).

The checks that need no state (ids and accounts not zero, accounts different, ledger and code
not zero) answer per event, in the core's order. The transfers and journal entries are inserted
first (no lock is needed for that; the transfers' primary key finds a stored id), then one
`UPDATE` takes the accounts' locks in id order and moves the counters of each account that
passes, so the locks are held for that statement and the commit only. If an id is stored, or
any account fails or is missing, the subtransaction around both rolls back (the rows, the moves
and the locks go) and the batch is not decided.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

CREATE_PLAIN_TRANSFERS = r"""
CREATE OR REPLACE FUNCTION ledger_create_plain_transfers(
    p_id bigint[], p_debit bigint[], p_credit bigint[], p_amount bigint[],
    p_ledger integer[], p_code integer[], p_ud64 bigint[], p_ud32 integer[], p_now bigint,
    OUT r_decided boolean, OUT r_index integer[], OUT r_result text[]
) LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
AS $fn$
DECLARE
    amount_max CONSTANT bigint := 9223372036854775807;
    n CONSTANT integer := cardinality(p_id);
    res text[]; ids_n bigint;
    w_id bigint[]; w_ledger integer[]; w_debits bigint[]; w_credits bigint[];
    moved_n bigint;
BEGIN
    r_decided := false;
    IF n IS NULL OR n = 0 THEN
        RETURN;
    END IF;
    -- 1. The checks that need no state, in the core's order; whether any id repeats, or is
    --    remembered as failed, or is stored where the event is refused (there `exists` would
    --    answer first; elsewhere the insert finds it).
    SELECT array_agg(CASE WHEN e.id = 0 THEN 'id_must_not_be_zero'
                          WHEN e.debit = 0 THEN 'debit_account_id_must_not_be_zero'
                          WHEN e.credit = 0 THEN 'credit_account_id_must_not_be_zero'
                          WHEN e.debit = e.credit THEN 'accounts_must_be_different'
                          WHEN e.ledger = 0 THEN 'ledger_must_not_be_zero'
                          WHEN e.code = 0 THEN 'code_must_not_be_zero'
                          ELSE 'ok' END ORDER BY e.ord),
           count(DISTINCT e.id)
      INTO res, ids_n
      FROM unnest(p_id, p_debit, p_credit, p_ledger, p_code) WITH ORDINALITY
           AS e(id, debit, credit, ledger, code, ord);
    IF ids_n <> n
        OR EXISTS (SELECT FROM unnest(p_id, res) AS e(id, result)
                     JOIN transfers AS t ON t.id = e.id WHERE e.result <> 'ok')
        OR EXISTS (SELECT FROM unnest(p_id) AS e(id) JOIN failed_transfers AS f ON f.id = e.id)
    THEN
        RETURN;
    END IF;
    -- 2. Each account's moves (NULL where a sum exceeds a counter's range or the account's
    --    events name more than one ledger).
    SELECT array_agg(g.id ORDER BY g.id), array_agg(g.ledger ORDER BY g.id),
           array_agg(g.debits ORDER BY g.id), array_agg(g.credits ORDER BY g.id)
      INTO w_id, w_ledger, w_debits, w_credits
      FROM (SELECT l.id, CASE WHEN min(l.ledger) = max(l.ledger) THEN min(l.ledger) END AS ledger,
                   CASE WHEN sum(l.debit) <= amount_max THEN sum(l.debit)::bigint END AS debits,
                   CASE WHEN sum(l.credit) <= amount_max THEN sum(l.credit)::bigint END AS credits
              FROM unnest(p_debit || p_credit, p_ledger || p_ledger,
                          p_amount || array_fill(0::bigint, ARRAY[n]),
                          array_fill(0::bigint, ARRAY[n]) || p_amount, res || res)
                   AS l(id, ledger, debit, credit, result)
             WHERE l.result = 'ok'
             GROUP BY l.id) AS g;
    IF w_id IS NOT NULL THEN
        IF array_position(w_ledger, NULL) IS NOT NULL OR array_position(w_debits, NULL) IS NOT NULL
            OR array_position(w_credits, NULL) IS NOT NULL THEN
            RETURN;
        END IF;
        -- 3. The transfers and their journal entries (before the locks: they are held until
        --    the commit); an id already stored fails the insert. Then lock each account in id
        --    order and move its counters if it passes the rules. If an id is stored, or an
        --    account fails or is missing, the subtransaction rolls back: rows, moves and locks.
        BEGIN
            WITH new_transfers AS (
                INSERT INTO transfers (id, debit_account_id, credit_account_id, amount, ledger,
                                       code, flags, pending_id, timeout_s, user_data_64,
                                       user_data_32, timestamp_ns)
                SELECT e.id, e.debit, e.credit, e.amount, e.ledger, e.code, 0, 0, 0, e.ud64,
                       e.ud32, p_now + e.ord - 1
                  FROM unnest(p_id, p_debit, p_credit, p_amount, p_ledger, p_code, p_ud64,
                              p_ud32, res) WITH ORDINALITY
                       AS e(id, debit, credit, amount, ledger, code, ud64, ud32, result, ord)
                 WHERE e.result = 'ok'
                RETURNING id, timestamp_ns
            )
            INSERT INTO journal_entries (kind, transfer_id, timestamp_ns)
            SELECT 1, t.id, t.timestamp_ns FROM new_transfers AS t
             ORDER BY t.timestamp_ns, t.id;
            UPDATE accounts AS a
               SET debits_posted = a.debits_posted + w.debits,
                   credits_posted = a.credits_posted + w.credits
              FROM unnest(w_id, w_ledger, w_debits, w_credits)
                   AS w(id, ledger, debits, credits)
             WHERE a.id = w.id AND a.ledger = w.ledger AND a.flags & 32 = 0
               AND w.debits <= amount_max - (a.debits_pending + a.debits_posted)
               AND w.credits <= amount_max - (a.credits_pending + a.credits_posted)
               AND (a.flags & 2 = 0
                    OR w.debits <= a.credits_posted - (a.debits_pending + a.debits_posted))
               AND (a.flags & 4 = 0
                    OR w.credits <= a.debits_posted - (a.credits_pending + a.credits_posted));
            GET DIAGNOSTICS moved_n = ROW_COUNT;
            IF moved_n < cardinality(w_id) THEN
                RAISE SQLSTATE 'CX001';
            END IF;
        EXCEPTION WHEN SQLSTATE 'CX001' OR unique_violation THEN
            RETURN;
        END;
    END IF;
    r_decided := true;
    SELECT coalesce(array_agg((e.ord - 1)::integer), '{}'), coalesce(array_agg(e.result), '{}')
      INTO r_index, r_result
      FROM unnest(res) WITH ORDINALITY AS e(result, ord)
     WHERE e.result <> 'ok';
END
$fn$;
"""

DROP_PLAIN_TRANSFERS = (
    "DROP FUNCTION IF EXISTS ledger_create_plain_transfers(bigint[], bigint[], bigint[],"
    " bigint[], integer[], integer[], bigint[], integer[], bigint)"
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(CREATE_PLAIN_TRANSFERS)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(DROP_PLAIN_TRANSFERS)
