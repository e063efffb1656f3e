-- pgbench script for bench/redemption.py: the statements the app issues for one
-- prepare (first transaction) and one commit (second transaction), in order.
-- Each client works at its own till, as each HTTP client of the benchmark does.
\set h random(1, :members)
\set t :client_id % 32 + 1
\set step random(1, 2000000000)
BEGIN;
SELECT id AS tid, store_id AS sid FROM terminals WHERE api_key_hash = encode(sha256(convert_to('bench-key-' || :t, 'UTF8')), 'hex') AND revoked_at IS NULL \gset
SELECT stores.merchant_id AS merch, stores.status, stores.name, stores.discount_bp, stores.discount_cap_fen, stores.min_bill_fen, (SELECT max(locked_until) FROM code_locks WHERE scope_key IN ('terminal:' || :tid, 'store:' || :sid, 'ip:127.0.0.1') AND locked_until > now()) AS locked_until, member_codes.member_id AS mid, member_codes.handle, member_codes.secret, users.display_name, users.phone, (SELECT memberships.id FROM memberships WHERE memberships.member_id = member_codes.member_id AND memberships.status = 'active' AND memberships.starts_at <= now() AND memberships.ends_at > now() LIMIT 1) AS msid FROM stores LEFT OUTER JOIN (member_codes JOIN users ON users.id = member_codes.member_id) ON member_codes.handle IN (:h, -1, -2) WHERE stores.id = :sid \gset
INSERT INTO redemptions (id, kind, status, store_id, merchant_id, member_id, membership_id, terminal_id, staff_id, order_id, code_step, bill_fen, excluded_fen, discount_fen, charged_fen, prepared_at, committed_at, undone_at, statement_id) SELECT gen_random_uuid(), 'code', 'prepared', :sid, :merch, :mid, :msid, :tid, NULL, NULL, :step, 12800, 0, 1280, 11520, now(), NULL, NULL, NULL WHERE NOT EXISTS (SELECT * FROM code_burns WHERE member_id = :mid AND step = :step) RETURNING id AS rid \gset
COMMIT;
BEGIN;
SELECT id AS tid2 FROM terminals WHERE api_key_hash = encode(sha256(convert_to('bench-key-' || :t, 'UTF8')), 'hex') AND revoked_at IS NULL \gset
INSERT INTO idempotency_keys (id, scope, key, request_hash, created_at) VALUES (gen_random_uuid(), 'terminal:' || :tid, :rid, 'h', now()) ON CONFLICT (scope, key) DO NOTHING;
UPDATE redemptions SET status = 'committed', committed_at = now() WHERE id = :rid AND status = 'prepared' AND kind = 'code' AND prepared_at > now() - interval '5 minutes' AND store_id = :sid AND EXISTS (SELECT * FROM memberships WHERE memberships.id = redemptions.membership_id AND memberships.status = 'active' AND memberships.ends_at > now()) AND EXISTS (SELECT * FROM stores WHERE stores.id = redemptions.store_id AND stores.status = 'live') RETURNING *, (SELECT name FROM stores WHERE stores.id = redemptions.store_id) AS store, (SELECT display_name FROM users WHERE users.id = redemptions.member_id) AS display_name, (SELECT phone FROM users WHERE users.id = redemptions.member_id) AS phone;
INSERT INTO code_burns (id, member_id, step, redemption_id, burned_at) VALUES (gen_random_uuid(), :mid, :step, :rid, now()) ON CONFLICT (member_id, step) DO NOTHING;
INSERT INTO ledger_accounts (id, code, owner_key, balance_fen) VALUES (gen_random_uuid(), 'member_savings', :mid, -1280), (gen_random_uuid(), 'merchant_discounts_funded', :merch, 1280) ON CONFLICT (code, owner_key) DO UPDATE SET balance_fen = ledger_accounts.balance_fen + excluded.balance_fen RETURNING code, owner_key, id;
INSERT INTO journal_entries (id, kind, ref, posted_at) VALUES (gen_random_uuid(), 'redemption', :rid, now()) RETURNING id AS eid \gset
INSERT INTO journal_lines (id, entry_id, account_id, amount_fen) SELECT gen_random_uuid(), :eid, id, CASE code WHEN 'member_savings' THEN -1280 ELSE 1280 END FROM ledger_accounts WHERE (code, owner_key) IN (('member_savings', :mid), ('merchant_discounts_funded', :merch));
UPDATE idempotency_keys SET status_code = 200, response_body = '{}' WHERE scope = 'terminal:' || :tid AND key = :rid;
COMMIT;
