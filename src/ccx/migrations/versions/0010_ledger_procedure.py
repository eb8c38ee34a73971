"""ledger: create_transfers as one PL/pgSQL function on PostgreSQL

`ledger_create_transfers` applies a batch by the rules of `ccx.ledger.core` (TigerBeetle's
`create_transfers`), in the same order, inside the server. SQLite keeps the Python core.

The function is the only writer of transfers on PostgreSQL and inserts only transfers between
accounts it has locked and read, so the two foreign keys from transfers to accounts (a lookup and
a row lock per key, per transfer: more than half of a batch's insert cost) are dropped there;
`verify_ledger` still names any journal account that is missing. Accounts get fillfactor 50 so
that counter updates stay on their page (HOT) and skip the three account indexes. The unique
index on the journal's `chain_sequence` holds only sealed entries: a new entry (sequence NULL)
no longer adds an index entry.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

CREATE_TRANSFERS = r"""
CREATE OR REPLACE FUNCTION ledger_create_transfers(
    p_id bigint[], p_debit bigint[], p_credit bigint[], p_amount bigint[],
    p_ledger integer[], p_code integer[], p_flags integer[], p_pending bigint[],
    p_timeout bigint[], p_ud64 bigint[], p_ud32 integer[], p_now bigint,
    p_small_max integer,
    OUT r_index integer[], OUT r_result text[]
) LANGUAGE plpgsql
-- Generic plans: custom ones would be re-planned on every call (the arrays' sizes vary). Every
-- read here is by key: no sequential scans, which a plan made while a table was empty (and
-- kept for the session) would otherwise use however large the table grows.
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
AS $fn$
DECLARE
    amount_max CONSTANT bigint := 9223372036854775807;
    n CONSTANT integer := cardinality(p_id);
    small CONSTANT boolean := n <= p_small_max;  -- scalar statements, else set-based ones
    -- the accounts the batch may touch (sorted ids), as read, and each event's (di, ci)
    want bigint[]; a_id bigint[]; a_tid tid[]; a_ledger integer[]; a_flags integer[];
    a_dpe bigint[]; a_dpo bigint[]; a_cpe bigint[]; a_cpo bigint[];
    di integer[]; ci integer[];
    v bigint; rec record; pass integer; locked boolean; spec_ids bigint[]; spec_ts bigint[]; moved boolean;
    moved_ids bigint[];
    stands boolean; blind boolean; moved_max numeric; room_max bigint; counted boolean := false;
    -- pass 1's results
    m_made boolean[]; m_debit bigint[]; m_credit bigint[]; m_amount bigint[]; m_ledger integer[];
    m_code integer[]; m_ts bigint[]; m_status text[]; m_exp bigint[]; m_ids bigint[];
    -- what pass 1 read (o) and its final balances and hold states (f)
    o_flags integer[]; o_dpe bigint[]; o_dpo bigint[]; o_cpe bigint[]; o_cpo bigint[];
    o_status text[]; o_exp bigint[];
    f_flags integer[]; f_dpe bigint[]; f_dpo bigint[]; f_cpe bigint[]; f_cpo bigint[];
    f_status text[];
    -- stored holds the batch references (h), with their states
    has_pend boolean;
    h_id bigint[]; h_debit bigint[]; h_credit bigint[]; h_amount bigint[];
    h_ledger integer[]; h_code integer[]; h_flags integer[]; h_ts bigint[];
    h_status text[]; h_status0 text[]; h_exp bigint[]; h_di integer[]; h_ci integer[];
    hk integer[];
    -- stored transfers with the batch's ids (x), and remembered failures
    xo integer[]; xk integer[]; x_found boolean[]; x_failed text[]; x_debit bigint[];
    x_credit bigint[]; x_amount bigint[]; x_ledger integer[]; x_code integer[];
    x_flags integer[]; x_pending bigint[]; x_timeout bigint[]; x_ud64 bigint[];
    x_ud32 integer[]; x_hold bigint[];
    prev_same integer[]; pend_last integer[];
    -- what the batch makes
    made boolean[]; tfail boolean[]; res text[];
    s_debit bigint[]; s_credit bigint[]; s_amount bigint[]; s_ledger integer[];
    s_code integer[]; s_ts bigint[]; s_hold bigint[]; s_di integer[]; s_ci integer[];
    e_status text[]; e_exp bigint[];
    -- undo log of the current linked chain
    u_kind integer[]; u_idx integer[]; u_flags integer[]; u_dpe bigint[]; u_dpo bigint[];
    u_cpe bigint[]; u_cpo bigint[]; u_status text[];
    -- scratch
    i integer; k integer; j integer; u integer; chain_end integer; fail_at integer;
    fail_res text; r text; in_chain boolean; f integer; ts bigint; amt bigint; posted bigint;
    da integer; ca integer; room bigint; expires bigint; hold_src integer; hold_idx integer;
    y_debit bigint; y_credit bigint; y_amount bigint; y_ledger integer; y_code integer;
    y_flags integer; y_ts bigint; y_status text; y_exp bigint; found_x boolean; same boolean;
    z_debit bigint; z_credit bigint; z_amount bigint; z_ledger integer; z_code integer;
    z_flags integer; z_pending bigint; z_timeout bigint; z_ud64 bigint; z_ud32 integer;
    z_hold bigint;
BEGIN
    IF n IS NULL OR n = 0 THEN
        r_index := '{}'; r_result := '{}';
        RETURN;
    END IF;
    -- 1. Holds referenced by post/void events (immutable rows: read without a lock).
    has_pend := NOT p_pending <@ ARRAY[0::bigint];
    IF has_pend THEN
        SELECT array_agg(t.id), array_agg(t.debit_account_id), array_agg(t.credit_account_id),
               array_agg(t.amount), array_agg(t.ledger), array_agg(t.code), array_agg(t.flags),
               array_agg(t.timestamp_ns)
          INTO h_id, h_debit, h_credit, h_amount, h_ledger, h_code, h_flags, h_ts
          FROM transfers AS t WHERE t.id = ANY (p_pending);
    END IF;
    -- 2. The accounts the batch may touch, sorted.
    IF small THEN
        want := '{}';  -- by insertion
        FOREACH v IN ARRAY p_debit || p_credit || coalesce(h_debit, '{}') || coalesce(h_credit, '{}') LOOP
            IF v > 0 AND NOT v = ANY (want) THEN
                j := 1;
                WHILE j <= cardinality(want) AND want[j] < v LOOP j := j + 1; END LOOP;
                want := want[1:j - 1] || v || want[j:];
            END IF;
        END LOOP;
    ELSE
        SELECT array_agg(DISTINCT w.id ORDER BY w.id) INTO want
          FROM unnest(p_debit || p_credit || coalesce(h_debit, '{}') || coalesce(h_credit, '{}'))
               AS w(id)
         WHERE w.id > 0;
    END IF;
    -- 3. Events that share an id with an earlier event, or name one as their hold.
    IF n > 1 AND small THEN
        prev_same := array_fill(NULL::integer, ARRAY[n]); pend_last := prev_same;
        FOR k IN 2 .. n LOOP
            FOR j IN REVERSE k - 1 .. 1 LOOP
                IF prev_same[k] IS NULL AND p_id[j] = p_id[k] THEN prev_same[k] := j; END IF;
                IF pend_last[k] IS NULL AND p_id[j] = p_pending[k] THEN pend_last[k] := j; END IF;
            END LOOP;
        END LOOP;
    ELSIF NOT small THEN
        SELECT array_agg(s.prev ORDER BY s.ord) INTO prev_same
          FROM (SELECT e.ord, lag(e.ord) OVER (PARTITION BY e.id ORDER BY e.ord) AS prev
                  FROM unnest(p_id) WITH ORDINALITY AS e(id, ord)) AS s;
        IF has_pend THEN
            SELECT array_agg(s.last ORDER BY g.ord) INTO pend_last
              FROM generate_series(1, n) AS g(ord)
              LEFT JOIN (SELECT e.ord, max(b.ord) AS last
                           FROM unnest(p_pending) WITH ORDINALITY AS e(pid, ord)
                           JOIN unnest(p_id) WITH ORDINALITY AS b(id, ord)
                             ON b.id = e.pid AND b.ord < e.ord
                          WHERE e.pid <> 0 GROUP BY e.ord) AS s ON s.ord = g.ord;
        END IF;
    END IF;
    -- 4. Each post/void event's stored hold.
    IF h_id IS NOT NULL THEN
        SELECT array_agg(h.k ORDER BY e.ord) INTO hk
          FROM unnest(p_pending) WITH ORDINALITY AS e(pid, ord)
          LEFT JOIN unnest(h_id) WITH ORDINALITY AS h(id, k) ON h.id = e.pid;
    END IF;

    -- A small batch locks its accounts, reads, and runs once. A large batch first runs on what
    -- it reads without locks and writes its transfers (pass 1), then locks and reads again
    -- (pass 2): the locks are held for a fraction of the time. Pass 2 decides: where pass 1's
    -- outcomes cannot have changed, its counters move by what changed since; otherwise it runs
    -- again, and if it made other rows than pass 1, they are rewritten.
    FOR pass IN 1 .. CASE WHEN small THEN 1 ELSE 2 END LOOP
        locked := small OR pass = 2;
        IF pass = 2 THEN
            m_made := made; m_debit := s_debit; m_credit := s_credit; m_amount := s_amount;
            m_ledger := s_ledger; m_code := s_code; m_ts := s_ts; m_status := e_status;
            m_exp := e_exp; m_ids := a_id;
            f_flags := a_flags; f_dpe := a_dpe; f_dpo := a_dpo; f_cpe := a_cpe; f_cpo := a_cpo;
            f_status := h_status;
            -- Whether pass 1's outcomes are blind to the counters (no account has a limit flag,
            -- no event balances, none overflowed), and the most the batch moves any counter.
            SELECT NOT ('overflows_debits' = ANY (res) OR 'overflows_credits' = ANY (res))
                   AND NOT EXISTS (SELECT FROM unnest(o_flags) AS w(flags) WHERE w.flags & 6 <> 0)
                   AND NOT EXISTS (SELECT FROM unnest(p_flags) AS e(flags) WHERE e.flags & 48 <> 0),
                   (SELECT coalesce(sum(e.amount::numeric), 0)
                      FROM unnest(made, s_amount) AS e(made, amount) WHERE e.made)
              INTO blind, moved_max;
            -- (Each side's two counters sum to at most amount_max: the overflow rules keep it.)
            room_max := CASE WHEN moved_max <= amount_max THEN amount_max - moved_max END;
            IF blind AND room_max IS NOT NULL AND h_id IS NULL
                AND cardinality(a_id) = cardinality(want) THEN
                -- Then pass 1 stands as long as each account's flags are as it read them and no
                -- counter can overflow: move the counters by what pass 1 moved them, in one
                -- statement that takes the locks (in id order) and checks each account.
                WITH applied AS (
                    UPDATE accounts AS a
                       SET flags = w.f_flags,
                           debits_pending = a.debits_pending + (w.f_dpe - w.o_dpe),
                           debits_posted = a.debits_posted + (w.f_dpo - w.o_dpo),
                           credits_pending = a.credits_pending + (w.f_cpe - w.o_cpe),
                           credits_posted = a.credits_posted + (w.f_cpo - w.o_cpo)
                      FROM unnest(a_id, o_flags, f_flags, f_dpe, o_dpe, f_dpo, o_dpo, f_cpe,
                                  o_cpe, f_cpo, o_cpo)
                           AS w(id, o_flags, f_flags, f_dpe, o_dpe, f_dpo, o_dpo, f_cpe, o_cpe,
                                f_cpo, o_cpo)
                     WHERE a.id = w.id AND a.flags = w.o_flags
                       AND greatest(a.debits_pending + a.debits_posted,
                                    a.credits_pending + a.credits_posted) <= room_max
                    RETURNING a.id
                )
                SELECT array_agg(applied.id) INTO moved_ids FROM applied;
                IF cardinality(moved_ids) = cardinality(a_id) THEN
                    counted := true;
                    EXIT;
                END IF;
                -- Some account changed under pass 1: undo the moves (keeping their locks), and
                -- decide under locks below.
                UPDATE accounts AS a
                   SET flags = w.o_flags,
                       debits_pending = a.debits_pending - (w.f_dpe - w.o_dpe),
                       debits_posted = a.debits_posted - (w.f_dpo - w.o_dpo),
                       credits_pending = a.credits_pending - (w.f_cpe - w.o_cpe),
                       credits_posted = a.credits_posted - (w.f_cpo - w.o_cpo)
                  FROM unnest(a_id, o_flags, f_dpe, o_dpe, f_dpo, o_dpo, f_cpe, o_cpe, f_cpo,
                              o_cpo)
                       AS w(id, o_flags, f_dpe, o_dpe, f_dpo, o_dpo, f_cpe, o_cpe, f_cpo, o_cpo)
                 WHERE a.id = w.id AND a.id = ANY (moved_ids);
            END IF;
        END IF;
        -- 5. The accounts, locked in id order (each one's row address kept for the update), or
        --    (pass 1) read without locks.
        IF small THEN
            a_id := '{}'; a_tid := '{}'; a_ledger := '{}'; a_flags := '{}';
            a_dpe := '{}'; a_dpo := '{}'; a_cpe := '{}'; a_cpo := '{}';
            FOREACH v IN ARRAY want LOOP
                SELECT a.id, a.ctid, a.ledger, a.flags, a.debits_pending, a.debits_posted,
                       a.credits_pending, a.credits_posted
                  INTO rec FROM accounts AS a WHERE a.id = v FOR NO KEY UPDATE;
                IF FOUND THEN
                    a_id := a_id || rec.id; a_tid := a_tid || rec.ctid; a_ledger := a_ledger || rec.ledger;
                    a_flags := a_flags || rec.flags; a_dpe := a_dpe || rec.debits_pending;
                    a_dpo := a_dpo || rec.debits_posted; a_cpe := a_cpe || rec.credits_pending;
                    a_cpo := a_cpo || rec.credits_posted;
                END IF;
            END LOOP;
        ELSIF locked THEN
            SELECT array_agg(s.id), array_agg(s.ctid), array_agg(s.ledger), array_agg(s.flags),
                   array_agg(s.debits_pending), array_agg(s.debits_posted),
                   array_agg(s.credits_pending), array_agg(s.credits_posted)
              INTO a_id, a_tid, a_ledger, a_flags, a_dpe, a_dpo, a_cpe, a_cpo
              FROM (SELECT a.id, a.ctid, a.ledger, a.flags, a.debits_pending, a.debits_posted,
                           a.credits_pending, a.credits_posted
                      FROM unnest(want) AS w(id) JOIN accounts AS a ON a.id = w.id
                     ORDER BY a.id FOR NO KEY UPDATE OF a) AS s;
        ELSE
            SELECT array_agg(s.id), array_agg(s.ledger), array_agg(s.flags),
                   array_agg(s.debits_pending), array_agg(s.debits_posted),
                   array_agg(s.credits_pending), array_agg(s.credits_posted)
              INTO a_id, a_ledger, a_flags, a_dpe, a_dpo, a_cpe, a_cpo
              FROM (SELECT a.id, a.ledger, a.flags, a.debits_pending, a.debits_posted,
                           a.credits_pending, a.credits_posted
                      FROM unnest(want) AS w(id) JOIN accounts AS a ON a.id = w.id
                     ORDER BY a.id) AS s;
        END IF;
        IF pass = 1 OR a_id IS DISTINCT FROM m_ids THEN  -- each event's accounts
            IF small THEN
                di := array_fill(NULL::integer, ARRAY[n]); ci := di;
                FOR k IN 1 .. n LOOP
                    FOR j IN 1 .. coalesce(cardinality(a_id), 0) LOOP
                        IF a_id[j] = p_debit[k] THEN di[k] := j; END IF;
                        IF a_id[j] = p_credit[k] THEN ci[k] := j; END IF;
                    END LOOP;
                END LOOP;
            ELSE
                SELECT array_agg(d.idx ORDER BY e.ord), array_agg(c.idx ORDER BY e.ord)
                  INTO di, ci
                  FROM unnest(p_debit, p_credit) WITH ORDINALITY AS e(debit, credit, ord)
                  LEFT JOIN unnest(a_id) WITH ORDINALITY AS d(id, idx) ON d.id = e.debit
                  LEFT JOIN unnest(a_id) WITH ORDINALITY AS c(id, idx) ON c.id = e.credit;
            END IF;
        END IF;
        IF h_id IS NOT NULL THEN
            IF locked THEN  -- lock the holds' states after the accounts
                PERFORM 1 FROM (SELECT transfer_id FROM pending_transfers
                                 WHERE transfer_id = ANY (h_id)
                                 ORDER BY transfer_id FOR UPDATE) AS p;
            END IF;
            SELECT array_agg(p.status ORDER BY h.k), array_agg(p.expires_at_ns ORDER BY h.k),
                   array_agg(d.idx ORDER BY h.k), array_agg(c.idx ORDER BY h.k)
              INTO h_status, h_exp, h_di, h_ci
              FROM unnest(h_id, h_debit, h_credit) WITH ORDINALITY AS h(id, debit, credit, k)
              LEFT JOIN pending_transfers AS p ON p.transfer_id = h.id
              LEFT JOIN unnest(a_id) WITH ORDINALITY AS d(id, idx) ON d.id = h.debit
              LEFT JOIN unnest(a_id) WITH ORDINALITY AS c(id, idx) ON c.id = h.credit;
            h_status0 := h_status;
        END IF;
        -- 6. Stored transfers and remembered failures with the batch's ids (after the locks,
        --    for a small batch).
        IF pass = 1 THEN
            IF small THEN
                FOR k IN 1 .. n LOOP
                    SELECT t.id IS NOT NULL AS found, t.debit_account_id, t.credit_account_id,
                           t.amount, t.ledger, t.code, t.flags, t.pending_id, t.timeout_s,
                           t.user_data_64, t.user_data_32, h.amount AS hold, f.result
                      INTO rec
                      FROM (SELECT p_id[k] AS id) AS e
                      LEFT JOIN transfers AS t ON t.id = e.id
                      LEFT JOIN transfers AS h ON h.id = t.pending_id AND t.pending_id <> 0
                      LEFT JOIN failed_transfers AS f ON f.id = e.id;
                    IF rec.found OR rec.result IS NOT NULL THEN
                        IF xk IS NULL THEN xk := array_fill(NULL::integer, ARRAY[n]); END IF;
                        xk[k] := coalesce(cardinality(x_found), 0) + 1;
                        x_found := x_found || rec.found; x_debit := x_debit || rec.debit_account_id;
                        x_credit := x_credit || rec.credit_account_id;
                        x_amount := x_amount || rec.amount; x_ledger := x_ledger || rec.ledger;
                        x_code := x_code || rec.code; x_flags := x_flags || rec.flags;
                        x_pending := x_pending || rec.pending_id;
                        x_timeout := x_timeout || rec.timeout_s::bigint;
                        x_ud64 := x_ud64 || rec.user_data_64; x_ud32 := x_ud32 || rec.user_data_32;
                        x_hold := x_hold || rec.hold; x_failed := x_failed || rec.result::text;
                    END IF;
                END LOOP;
            ELSE
                SELECT array_agg(e.ord), array_agg(t.id IS NOT NULL), array_agg(t.debit_account_id),
                       array_agg(t.credit_account_id), array_agg(t.amount), array_agg(t.ledger),
                       array_agg(t.code), array_agg(t.flags), array_agg(t.pending_id),
                       array_agg(t.timeout_s), array_agg(t.user_data_64), array_agg(t.user_data_32),
                       array_agg(h.amount), array_agg(f.result)
                  INTO xo, x_found, x_debit, x_credit, x_amount, x_ledger, x_code, x_flags,
                       x_pending, x_timeout, x_ud64, x_ud32, x_hold, x_failed
                  FROM unnest(p_id) WITH ORDINALITY AS e(id, ord)
                  LEFT JOIN transfers AS t ON t.id = e.id
                  LEFT JOIN transfers AS h ON h.id = t.pending_id AND t.pending_id <> 0
                  LEFT JOIN failed_transfers AS f ON f.id = e.id
                 WHERE t.id IS NOT NULL OR f.id IS NOT NULL;
                IF xo IS NOT NULL THEN  -- event -> its position in the x arrays
                    xk := array_fill(NULL::integer, ARRAY[n]);
                    FOR j IN 1 .. cardinality(xo) LOOP xk[xo[j]] := j; END LOOP;
                END IF;
            END IF;
        END IF;
        IF pass = 1 AND NOT small THEN  -- what pass 1 read
            o_flags := a_flags; o_dpe := a_dpe; o_dpo := a_dpo; o_cpe := a_cpe; o_cpo := a_cpo;
            o_status := h_status; o_exp := h_exp;
        ELSIF pass = 2 AND a_id = m_ids AND a_flags = o_flags
            AND h_status IS NOT DISTINCT FROM o_status AND h_exp IS NOT DISTINCT FROM o_exp THEN
            -- Only counters may have changed since pass 1: its outcomes stand if they are blind
            -- to the counters and none can overflow now.
            moved := a_dpe <> o_dpe OR a_dpo <> o_dpo OR a_cpe <> o_cpe OR a_cpo <> o_cpo;
            IF NOT moved THEN  -- nothing pass 1 read has changed
                a_dpe := f_dpe; a_dpo := f_dpo; a_cpe := f_cpe; a_cpo := f_cpo;
                a_flags := f_flags; h_status := f_status;
                EXIT;
            END IF;
            IF blind AND room_max IS NOT NULL THEN
                SELECT coalesce(bool_and(greatest(w.dpe + w.dpo, w.cpe + w.cpo) <= room_max), false)
                  INTO stands
                  FROM unnest(a_dpe, a_dpo, a_cpe, a_cpo) AS w(dpe, dpo, cpe, cpo);
                IF stands THEN  -- each counter moves by what pass 1 moved it
                    SELECT array_agg(w.dpe + (w.fdpe - w.odpe)), array_agg(w.dpo + (w.fdpo - w.odpo)),
                           array_agg(w.cpe + (w.fcpe - w.ocpe)), array_agg(w.cpo + (w.fcpo - w.ocpo))
                      INTO a_dpe, a_dpo, a_cpe, a_cpo
                      FROM unnest(a_dpe, a_dpo, a_cpe, a_cpo, f_dpe, f_dpo, f_cpe, f_cpo,
                                  o_dpe, o_dpo, o_cpe, o_cpo)
                           AS w(dpe, dpo, cpe, cpo, fdpe, fdpo, fcpe, fcpo, odpe, odpo, ocpe, ocpo);
                    a_flags := f_flags; h_status := f_status;
                    EXIT;
                END IF;
            END IF;
        END IF;
        made := array_fill(false, ARRAY[n]);
        tfail := array_fill(false, ARRAY[n]);
        res := array_fill('ok'::text, ARRAY[n]);
        s_debit := p_debit; s_credit := p_credit; s_amount := p_amount; s_ledger := p_ledger;
        s_code := p_code; s_ts := array_fill(0::bigint, ARRAY[n]);
        s_hold := array_fill(NULL::bigint, ARRAY[n]);
        s_di := array_fill(NULL::integer, ARRAY[n]); s_ci := s_di;
        e_status := array_fill(NULL::text, ARRAY[n]); e_exp := s_hold;

        -- 6. The events, in order; a linked chain succeeds or fails as one.
        i := 1;
        WHILE i <= n LOOP
            chain_end := i;
            WHILE p_flags[chain_end] & 1 <> 0 AND chain_end < n LOOP
                chain_end := chain_end + 1;
            END LOOP;
            in_chain := chain_end > i OR p_flags[i] & 1 <> 0;
            IF in_chain THEN
                u_kind := '{}'; u_idx := '{}'; u_flags := '{}'; u_dpe := '{}'; u_dpo := '{}';
                u_cpe := '{}'; u_cpo := '{}'; u_status := '{}';
            END IF;
            fail_at := NULL; fail_res := NULL;
            FOR k IN i .. chain_end LOOP
                IF k = chain_end AND p_flags[k] & 1 <> 0 THEN
                    fail_at := k; fail_res := 'linked_event_chain_open';
                    EXIT;
                END IF;
                r := NULL;
                <<one>>
                BEGIN
                    ts := p_now + k - 1;
                    f := p_flags[k];
                    IF p_id[k] = 0 THEN r := 'id_must_not_be_zero'; EXIT one; END IF;
                    -- an earlier transfer with this id: stored, or made earlier in the batch
                    found_x := false;
                    IF x_found[xk[k]] THEN
                        j := xk[k]; found_x := true;
                        z_debit := x_debit[j]; z_credit := x_credit[j]; z_amount := x_amount[j];
                        z_ledger := x_ledger[j]; z_code := x_code[j]; z_flags := x_flags[j];
                        z_pending := x_pending[j]; z_timeout := x_timeout[j]; z_ud64 := x_ud64[j];
                        z_ud32 := x_ud32[j]; z_hold := x_hold[j];
                    ELSE
                        j := prev_same[k];
                        WHILE j IS NOT NULL AND NOT made[j] LOOP j := prev_same[j]; END LOOP;
                        IF j IS NOT NULL THEN
                            found_x := true;
                            z_debit := s_debit[j]; z_credit := s_credit[j]; z_amount := s_amount[j];
                            z_ledger := s_ledger[j]; z_code := s_code[j]; z_flags := p_flags[j];
                            z_pending := p_pending[j]; z_timeout := p_timeout[j];
                            z_ud64 := p_ud64[j]; z_ud32 := p_ud32[j]; z_hold := s_hold[j];
                        END IF;
                    END IF;
                    IF found_x THEN
                        same := f = z_flags AND p_pending[k] = z_pending AND p_timeout[k] = z_timeout
                            AND p_ud64[k] = z_ud64 AND p_ud32[k] = z_ud32;
                        IF same THEN
                            IF f & 12 <> 0 THEN  -- post/void: zero fields inherit the hold's
                                same := p_debit[k] IN (0, z_debit) AND p_credit[k] IN (0, z_credit)
                                    AND p_ledger[k] IN (0, z_ledger) AND p_code[k] IN (0, z_code);
                            ELSE
                                same := p_debit[k] = z_debit AND p_credit[k] = z_credit
                                    AND p_ledger[k] = z_ledger AND p_code[k] = z_code;
                            END IF;
                        END IF;
                        IF same THEN
                            IF f & 4 <> 0 AND p_amount[k] = amount_max THEN
                                same := z_amount = z_hold;
                            ELSIF f & 8 <> 0 AND p_amount[k] = 0 THEN
                                same := true;
                            ELSIF f & 48 <> 0 THEN
                                same := p_amount[k] >= z_amount;
                            ELSE
                                same := p_amount[k] = z_amount;
                            END IF;
                        END IF;
                        r := CASE WHEN same THEN 'exists' ELSE 'exists_with_different_fields' END;
                        EXIT one;
                    END IF;
                    IF x_failed[xk[k]] IS NOT NULL THEN r := 'id_already_failed'; EXIT one; END IF;
                    j := prev_same[k];
                    WHILE j IS NOT NULL LOOP
                        IF tfail[j] THEN r := 'id_already_failed'; EXIT one; END IF;
                        j := prev_same[j];
                    END LOOP;

                    IF f & 12 <> 0 THEN
                        -- post or void a hold
                        IF f & 12 = 12 OR f & 242 <> 0 THEN
                            r := 'flags_are_mutually_exclusive'; EXIT one;
                        END IF;
                        IF p_pending[k] = 0 THEN r := 'pending_id_must_not_be_zero'; EXIT one; END IF;
                        IF p_pending[k] = p_id[k] THEN r := 'pending_id_must_be_different'; EXIT one; END IF;
                        IF p_timeout[k] <> 0 THEN r := 'timeout_reserved_for_pending_transfer'; EXIT one; END IF;
                        j := pend_last[k];
                        WHILE j IS NOT NULL AND NOT made[j] LOOP j := prev_same[j]; END LOOP;
                        IF j IS NOT NULL THEN  -- made earlier in this batch
                            hold_src := 1; hold_idx := j;
                            y_debit := s_debit[j]; y_credit := s_credit[j]; y_amount := s_amount[j];
                            y_ledger := s_ledger[j]; y_code := s_code[j]; y_flags := p_flags[j];
                            y_ts := s_ts[j]; y_status := e_status[j]; y_exp := e_exp[j];
                            da := s_di[j]; ca := s_ci[j];
                        ELSIF hk[k] IS NOT NULL THEN  -- stored
                            hold_src := 2; hold_idx := hk[k]; j := hk[k];
                            y_debit := h_debit[j]; y_credit := h_credit[j]; y_amount := h_amount[j];
                            y_ledger := h_ledger[j]; y_code := h_code[j]; y_flags := h_flags[j];
                            y_ts := h_ts[j]; y_status := h_status[j]; y_exp := h_exp[j];
                            da := h_di[j]; ca := h_ci[j];
                        ELSE
                            r := 'pending_transfer_not_found'; EXIT one;
                        END IF;
                        IF y_flags & 2 = 0 THEN r := 'pending_transfer_not_pending'; EXIT one; END IF;
                        IF p_debit[k] NOT IN (0, y_debit) THEN
                            r := 'pending_transfer_has_different_debit_account_id'; EXIT one;
                        END IF;
                        IF p_credit[k] NOT IN (0, y_credit) THEN
                            r := 'pending_transfer_has_different_credit_account_id'; EXIT one;
                        END IF;
                        IF p_ledger[k] NOT IN (0, y_ledger) THEN
                            r := 'pending_transfer_has_different_ledger'; EXIT one;
                        END IF;
                        IF p_code[k] NOT IN (0, y_code) THEN
                            r := 'pending_transfer_has_different_code'; EXIT one;
                        END IF;
                        IF f & 4 <> 0 THEN
                            IF p_amount[k] = amount_max THEN
                                amt := y_amount;
                            ELSIF p_amount[k] > y_amount THEN
                                r := 'exceeds_pending_transfer_amount'; EXIT one;
                            ELSE
                                amt := p_amount[k];
                            END IF;
                        ELSE
                            IF p_amount[k] NOT IN (0, y_amount) THEN
                                r := 'pending_transfer_has_different_amount'; EXIT one;
                            END IF;
                            amt := y_amount;
                        END IF;
                        IF y_status = 'posted' THEN r := 'pending_transfer_already_posted'; EXIT one; END IF;
                        IF y_status = 'voided' THEN r := 'pending_transfer_already_voided'; EXIT one; END IF;
                        IF y_status = 'expired' OR (y_exp IS NOT NULL AND ts >= y_exp) THEN
                            r := 'pending_transfer_expired'; EXIT one;
                        END IF;
                        IF f & 4 <> 0 AND a_flags[da] & 32 <> 0 THEN
                            r := 'debit_account_already_closed'; EXIT one;
                        END IF;
                        IF f & 4 <> 0 AND a_flags[ca] & 32 <> 0 THEN
                            r := 'credit_account_already_closed'; EXIT one;
                        END IF;
                        posted := CASE WHEN f & 4 <> 0 THEN amt ELSE 0 END;
                        IF in_chain THEN
                            u_kind := u_kind || ARRAY[0, 0, hold_src];
                            u_idx := u_idx || ARRAY[da, ca, hold_idx];
                            u_flags := u_flags || ARRAY[a_flags[da], a_flags[ca], 0];
                            u_dpe := u_dpe || ARRAY[a_dpe[da], a_dpe[ca], 0];
                            u_dpo := u_dpo || ARRAY[a_dpo[da], a_dpo[ca], 0];
                            u_cpe := u_cpe || ARRAY[a_cpe[da], a_cpe[ca], 0];
                            u_cpo := u_cpo || ARRAY[a_cpo[da], a_cpo[ca], 0];
                            u_status := u_status || ARRAY[NULL, NULL, y_status];
                        END IF;
                        IF posted = 0 AND y_flags & 64 <> 0 THEN a_flags[da] := a_flags[da] & ~32; END IF;
                        a_dpe[da] := a_dpe[da] - y_amount;
                        a_dpo[da] := a_dpo[da] + posted;
                        IF posted = 0 AND y_flags & 128 <> 0 THEN a_flags[ca] := a_flags[ca] & ~32; END IF;
                        a_cpe[ca] := a_cpe[ca] - y_amount;
                        a_cpo[ca] := a_cpo[ca] + posted;
                        IF hold_src = 1 THEN
                            e_status[hold_idx] := CASE WHEN f & 4 <> 0 THEN 'posted' ELSE 'voided' END;
                        ELSE
                            h_status[hold_idx] := CASE WHEN f & 4 <> 0 THEN 'posted' ELSE 'voided' END;
                        END IF;
                        s_debit[k] := y_debit; s_credit[k] := y_credit; s_amount[k] := amt;
                        s_ledger[k] := y_ledger; s_code[k] := y_code;
                        s_ts[k] := greatest(ts, y_ts + 1); s_hold[k] := y_amount;
                        s_di[k] := da; s_ci[k] := ca;
                        made[k] := true; r := 'ok';
                        EXIT one;
                    END IF;

                    -- a plain or pending transfer
                    IF p_debit[k] = 0 THEN r := 'debit_account_id_must_not_be_zero'; EXIT one; END IF;
                    IF p_credit[k] = 0 THEN r := 'credit_account_id_must_not_be_zero'; EXIT one; END IF;
                    IF p_debit[k] = p_credit[k] THEN r := 'accounts_must_be_different'; EXIT one; END IF;
                    IF p_pending[k] <> 0 THEN r := 'pending_id_must_be_zero'; EXIT one; END IF;
                    IF p_timeout[k] <> 0 AND f & 2 = 0 THEN
                        r := 'timeout_reserved_for_pending_transfer'; EXIT one;
                    END IF;
                    IF f & 192 <> 0 AND f & 2 = 0 THEN
                        r := 'closing_transfer_must_be_pending'; EXIT one;
                    END IF;
                    IF p_ledger[k] = 0 THEN r := 'ledger_must_not_be_zero'; EXIT one; END IF;
                    IF p_code[k] = 0 THEN r := 'code_must_not_be_zero'; EXIT one; END IF;
                    da := di[k]; ca := ci[k];
                    IF da IS NULL THEN r := 'debit_account_not_found'; EXIT one; END IF;
                    IF ca IS NULL THEN r := 'credit_account_not_found'; EXIT one; END IF;
                    IF a_ledger[da] <> a_ledger[ca] THEN
                        r := 'accounts_must_have_the_same_ledger'; EXIT one;
                    END IF;
                    IF p_ledger[k] <> a_ledger[da] THEN
                        r := 'transfer_must_have_the_same_ledger_as_accounts'; EXIT one;
                    END IF;
                    IF a_flags[da] & 32 <> 0 THEN r := 'debit_account_already_closed'; EXIT one; END IF;
                    IF a_flags[ca] & 32 <> 0 THEN r := 'credit_account_already_closed'; EXIT one; END IF;
                    amt := p_amount[k];
                    IF f & 16 <> 0 THEN
                        room := a_cpo[da] - (a_dpo[da] + a_dpe[da]);
                        amt := least(amt, greatest(0, room));
                    END IF;
                    IF f & 32 <> 0 THEN
                        room := a_dpo[ca] - (a_cpo[ca] + a_cpe[ca]);
                        amt := least(amt, greatest(0, room));
                    END IF;
                    IF amt > amount_max - (a_dpe[da] + a_dpo[da]) THEN
                        r := 'overflows_debits'; EXIT one;
                    END IF;
                    IF amt > amount_max - (a_cpe[ca] + a_cpo[ca]) THEN
                        r := 'overflows_credits'; EXIT one;
                    END IF;
                    expires := NULL;
                    IF f & 2 <> 0 AND p_timeout[k] <> 0 THEN
                        IF p_timeout[k] > (amount_max - ts) / 1000000000 THEN
                            r := 'overflows_timeout'; EXIT one;
                        END IF;
                        expires := ts + p_timeout[k] * 1000000000;
                    END IF;
                    IF a_flags[da] & 2 <> 0 AND a_dpe[da] + a_dpo[da] + amt > a_cpo[da] THEN
                        r := 'exceeds_credits'; EXIT one;
                    END IF;
                    IF a_flags[ca] & 4 <> 0 AND a_cpe[ca] + a_cpo[ca] + amt > a_dpo[ca] THEN
                        r := 'exceeds_debits'; EXIT one;
                    END IF;
                    IF in_chain THEN
                        u_kind := u_kind || ARRAY[0, 0];
                        u_idx := u_idx || ARRAY[da, ca];
                        u_flags := u_flags || ARRAY[a_flags[da], a_flags[ca]];
                        u_dpe := u_dpe || ARRAY[a_dpe[da], a_dpe[ca]];
                        u_dpo := u_dpo || ARRAY[a_dpo[da], a_dpo[ca]];
                        u_cpe := u_cpe || ARRAY[a_cpe[da], a_cpe[ca]];
                        u_cpo := u_cpo || ARRAY[a_cpo[da], a_cpo[ca]];
                        u_status := u_status || ARRAY[NULL::text, NULL::text];
                    END IF;
                    IF f & 2 <> 0 THEN
                        a_dpe[da] := a_dpe[da] + amt; a_cpe[ca] := a_cpe[ca] + amt;
                        e_status[k] := 'pending'; e_exp[k] := expires;
                    ELSE
                        a_dpo[da] := a_dpo[da] + amt; a_cpo[ca] := a_cpo[ca] + amt;
                    END IF;
                    IF f & 64 <> 0 THEN a_flags[da] := a_flags[da] | 32; END IF;
                    IF f & 128 <> 0 THEN a_flags[ca] := a_flags[ca] | 32; END IF;
                    s_amount[k] := amt; s_ts[k] := ts; s_di[k] := da; s_ci[k] := ca;
                    made[k] := true; r := 'ok';
                END one;
                IF r NOT IN ('ok', 'exists') THEN
                    fail_at := k; fail_res := r;
                    EXIT;
                END IF;
                res[k] := r;
            END LOOP;
            IF fail_at IS NOT NULL THEN
                FOR u IN REVERSE CASE WHEN in_chain THEN cardinality(u_kind) ELSE 0 END .. 1 LOOP
                    j := u_idx[u];
                    IF u_kind[u] = 0 THEN
                        a_flags[j] := u_flags[u]; a_dpe[j] := u_dpe[u]; a_dpo[j] := u_dpo[u];
                        a_cpe[j] := u_cpe[u]; a_cpo[j] := u_cpo[u];
                    ELSIF u_kind[u] = 1 THEN
                        e_status[j] := u_status[u];
                    ELSE
                        h_status[j] := u_status[u];
                    END IF;
                END LOOP;
                FOR k IN i .. chain_end LOOP
                    made[k] := false;
                    res[k] := CASE WHEN k = fail_at THEN fail_res ELSE 'linked_event_failed' END;
                END LOOP;
                IF p_flags[n] & 1 <> 0 AND chain_end = n THEN
                    res[n] := 'linked_event_chain_open';
                END IF;
                IF fail_res IN ('debit_account_not_found', 'credit_account_not_found',
                                'pending_transfer_not_found', 'debit_account_already_closed',
                                'credit_account_already_closed', 'exceeds_credits',
                                'exceeds_debits') THEN
                    tfail[fail_at] := true;
                END IF;
            END IF;
            i := chain_end + 1;
        END LOOP;

        -- 7. Write the pass's transfers, journal entries and hold states: a small batch's, pass
        --    1's, or pass 2's where they differ from pass 1's.
        IF pass = 2 THEN
            IF made = m_made AND s_debit = m_debit AND s_credit = m_credit
                AND s_amount = m_amount AND s_ledger = m_ledger AND s_code = m_code
                AND s_ts = m_ts AND e_status IS NOT DISTINCT FROM m_status
                AND e_exp IS NOT DISTINCT FROM m_exp THEN
                EXIT;
            END IF;
            -- Pass 1's rows (this transaction's own, never seen by others) give way to pass 2's.
            SELECT array_agg(v.id), array_agg(v.ts) INTO spec_ids, spec_ts
              FROM unnest(p_id, m_ts, m_made) AS v(id, ts, made) WHERE v.made;
            DELETE FROM journal_entries
             WHERE chain_sequence IS NULL AND timestamp_ns = ANY (spec_ts)
               AND kind = 1 AND transfer_id = ANY (spec_ids);
            DELETE FROM pending_transfers WHERE transfer_id = ANY (spec_ids);
            DELETE FROM transfers WHERE id = ANY (spec_ids);
        END IF;
        IF true = ANY (made) THEN
            WITH new_transfers AS (
                INSERT INTO transfers (id, debit_account_id, credit_account_id, amount, ledger,
                                       code, flags, pending_id, timeout_s, user_data_64,
                                       user_data_32, timestamp_ns)
                SELECT e.id, e.debit, e.credit, e.amount, e.ledger, e.code, e.flags, e.pending,
                       e.timeout, e.ud64, e.ud32, e.ts
                  FROM unnest(p_id, s_debit, s_credit, s_amount, s_ledger, s_code, p_flags,
                              p_pending, p_timeout, p_ud64, p_ud32, s_ts, made)
                       AS e(id, debit, credit, amount, ledger, code, flags, pending, timeout,
                            ud64, ud32, ts, made)
                 WHERE e.made
                RETURNING id, timestamp_ns
            ), new_entries AS (
                INSERT INTO journal_entries (kind, transfer_id, timestamp_ns)
                SELECT 1, t.id, t.timestamp_ns FROM new_transfers AS t
                 ORDER BY t.timestamp_ns, t.id
            )
            INSERT INTO pending_transfers (transfer_id, status, expires_at_ns)
            SELECT e.id, e.status, e.expires
              FROM unnest(p_id, e_status, e_exp, made) AS e(id, status, expires, made)
             WHERE e.made AND e.status IS NOT NULL;
        END IF;
    END LOOP;

    -- 8. Counters (by row address: the rows are locked), hold states, remembered failures.
    IF true = ANY (made) AND NOT counted THEN
        UPDATE accounts AS a
           SET flags = w.flags, debits_pending = w.dpe, debits_posted = w.dpo,
               credits_pending = w.cpe, credits_posted = w.cpo
          FROM unnest(a_tid, a_flags, a_dpe, a_dpo, a_cpe, a_cpo)
               AS w(tid, flags, dpe, dpo, cpe, cpo)
         WHERE a.ctid = w.tid
           AND (a.flags, a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted)
               IS DISTINCT FROM (w.flags, w.dpe, w.dpo, w.cpe, w.cpo);
    END IF;
    IF h_status IS DISTINCT FROM h_status0 THEN
        UPDATE pending_transfers AS p SET status = v.status
          FROM unnest(h_id, h_status, h_status0) AS v(id, status, status0)
         WHERE p.transfer_id = v.id AND v.status IS DISTINCT FROM v.status0;
    END IF;
    IF true = ANY (tfail) THEN
        INSERT INTO failed_transfers (id, result, timestamp_ns)
        SELECT v.id, v.result, p_now
          FROM unnest(p_id, res, tfail) AS v(id, result, tfail)
         WHERE v.tfail;
    END IF;
    SELECT coalesce(array_agg((e.ord - 1)::integer), '{}'), coalesce(array_agg(e.result), '{}')
      INTO r_index, r_result
      FROM unnest(res) WITH ORDINALITY AS e(result, ord)
     WHERE e.result <> 'ok';
END
$fn$;
"""

CREATE_TRANSFER = r"""
CREATE OR REPLACE FUNCTION ledger_create_transfer(
    p_id bigint, p_debit bigint, p_credit bigint, p_amount bigint, p_ledger integer,
    p_code integer, p_ud64 bigint, p_ud32 integer, p_now bigint
) RETURNS text LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
-- One plain transfer (no flags, no hold, no timeout), alone in its batch: the rules of
-- `ccx.ledger.core` such a transfer meets, in the same order, as ledger_create_transfers
-- applies them, in a few statements (that function's set-up costs more than one transfer).
AS $fn$
DECLARE
    amount_max CONSTANT bigint := 9223372036854775807;
    lo record; hi record; d record; c record; x record; r text;
BEGIN
    -- the two accounts, locked in id order
    SELECT a.ctid, a.id, a.ledger, a.flags, a.debits_pending AS dpe, a.debits_posted AS dpo,
           a.credits_pending AS cpe, a.credits_posted AS cpo
      INTO lo FROM accounts AS a WHERE a.id = least(p_debit, p_credit) FOR NO KEY UPDATE;
    SELECT a.ctid, a.id, a.ledger, a.flags, a.debits_pending AS dpe, a.debits_posted AS dpo,
           a.credits_pending AS cpe, a.credits_posted AS cpo
      INTO hi FROM accounts AS a WHERE a.id = greatest(p_debit, p_credit) FOR NO KEY UPDATE;
    IF p_debit < p_credit THEN d := lo; c := hi; ELSE d := hi; c := lo; END IF;
    -- a stored transfer with this id, or a remembered failure
    SELECT t.id AS stored_id, t.debit_account_id, t.credit_account_id, t.amount, t.ledger, t.code,
           t.flags, t.pending_id, t.timeout_s, t.user_data_64, t.user_data_32, f.result
      INTO x
      FROM (SELECT p_id AS id) AS e
      LEFT JOIN transfers AS t ON t.id = e.id
      LEFT JOIN failed_transfers AS f ON f.id = e.id;
    r := CASE
        WHEN p_id = 0 THEN 'id_must_not_be_zero'
        WHEN x.stored_id IS NOT NULL THEN
            CASE WHEN x.flags = 0 AND x.pending_id = 0 AND x.timeout_s = 0
                      AND x.user_data_64 = p_ud64 AND x.user_data_32 = p_ud32
                      AND x.debit_account_id = p_debit AND x.credit_account_id = p_credit
                      AND x.ledger = p_ledger AND x.code = p_code AND x.amount = p_amount
                 THEN 'exists' ELSE 'exists_with_different_fields' END
        WHEN x.result IS NOT NULL THEN 'id_already_failed'
        WHEN p_debit = 0 THEN 'debit_account_id_must_not_be_zero'
        WHEN p_credit = 0 THEN 'credit_account_id_must_not_be_zero'
        WHEN p_debit = p_credit THEN 'accounts_must_be_different'
        WHEN p_ledger = 0 THEN 'ledger_must_not_be_zero'
        WHEN p_code = 0 THEN 'code_must_not_be_zero'
        WHEN d.id IS NULL THEN 'debit_account_not_found'
        WHEN c.id IS NULL THEN 'credit_account_not_found'
        WHEN d.ledger <> c.ledger THEN 'accounts_must_have_the_same_ledger'
        WHEN p_ledger <> d.ledger THEN 'transfer_must_have_the_same_ledger_as_accounts'
        WHEN d.flags & 32 <> 0 THEN 'debit_account_already_closed'
        WHEN c.flags & 32 <> 0 THEN 'credit_account_already_closed'
        WHEN p_amount > amount_max - (d.dpe + d.dpo) THEN 'overflows_debits'
        WHEN p_amount > amount_max - (c.cpe + c.cpo) THEN 'overflows_credits'
        WHEN d.flags & 2 <> 0 AND d.dpe + d.dpo + p_amount > d.cpo THEN 'exceeds_credits'
        WHEN c.flags & 4 <> 0 AND c.cpe + c.cpo + p_amount > c.dpo THEN 'exceeds_debits'
        ELSE 'ok' END;
    IF r = 'ok' THEN
        WITH new_transfer AS (
            INSERT INTO transfers (id, debit_account_id, credit_account_id, amount, ledger, code,
                                   flags, pending_id, timeout_s, user_data_64, user_data_32,
                                   timestamp_ns)
            VALUES (p_id, p_debit, p_credit, p_amount, p_ledger, p_code, 0, 0, 0, p_ud64, p_ud32,
                    p_now)
            RETURNING id, timestamp_ns
        ), new_entry AS (
            INSERT INTO journal_entries (kind, transfer_id, timestamp_ns)
            SELECT 1, t.id, t.timestamp_ns FROM new_transfer AS t
        )
        UPDATE accounts AS a  -- by row address: the rows are locked
           SET debits_posted = a.debits_posted + CASE WHEN a.id = p_debit THEN p_amount ELSE 0 END,
               credits_posted = a.credits_posted
                                + CASE WHEN a.id = p_credit THEN p_amount ELSE 0 END
         WHERE a.ctid = ANY (ARRAY[d.ctid, c.ctid]) AND p_amount <> 0;
    ELSIF r IN ('debit_account_not_found', 'credit_account_not_found',
                'debit_account_already_closed', 'credit_account_already_closed',
                'exceeds_credits', 'exceeds_debits') THEN
        INSERT INTO failed_transfers (id, result, timestamp_ns) VALUES (p_id, r, p_now);
    END IF;
    RETURN r;
END
$fn$;
"""

DROP_FUNCTIONS = (
    "DROP FUNCTION IF EXISTS ledger_create_transfers(bigint[], bigint[], bigint[], bigint[],"
    " integer[], integer[], integer[], bigint[], bigint[], bigint[], integer[], bigint, integer)",
    "DROP FUNCTION IF EXISTS ledger_create_transfer(bigint, bigint, bigint, bigint, integer,"
    " integer, bigint, integer, bigint)",
)


_SEQUENCE_KEY = "journal_entries_chain_sequence_key"
_SEQUENCE_INDEX = "ux_journal_entries_chain_sequence"  # sealed entries only: no NULL entries

_ACCOUNT_KEYS = (
    ("transfers_debit_account_id_fkey", "debit_account_id"),
    ("transfers_credit_account_id_fkey", "credit_account_id"),
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(CREATE_TRANSFERS)
    op.execute(CREATE_TRANSFER)
    for name, _ in _ACCOUNT_KEYS:
        op.drop_constraint(name, "transfers", type_="foreignkey")
    op.execute("ALTER TABLE accounts SET (fillfactor = 50)")
    op.drop_constraint(_SEQUENCE_KEY, "journal_entries", type_="unique")
    op.create_index(
        _SEQUENCE_INDEX,
        "journal_entries",
        ["chain_sequence"],
        unique=True,
        postgresql_where=sa.text("chain_sequence IS NOT NULL"),
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index(_SEQUENCE_INDEX, table_name="journal_entries")
    op.create_unique_constraint(_SEQUENCE_KEY, "journal_entries", ["chain_sequence"])
    op.execute("ALTER TABLE accounts RESET (fillfactor)")
    for name, column in _ACCOUNT_KEYS:
        op.create_foreign_key(name, "transfers", "accounts", [column], ["id"])
    for statement in DROP_FUNCTIONS:
        op.execute(statement)
