-- A covering index for the ledger figures (one pass over a ledger's items in lead-unit order,
-- never touching the wide item rows) and for counting a unit subtree's items by state.
CREATE INDEX items_fig ON items(ledger_id, lead_unit_id, state, source, category, level,
    assigned_on, deadline, closed_on);

-- Items numbered in a ledger take the next value of its counter (counting a million items per
-- insert would be slow, and wrong once numbers are given by hand).
ALTER TABLE ledgers ADD COLUMN item_seq BIGINT NOT NULL DEFAULT 0;
UPDATE ledgers SET item_seq = (SELECT count(*) FROM items WHERE items.ledger_id = ledgers.id);
