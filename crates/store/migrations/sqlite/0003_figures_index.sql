-- A covering index for the ledger figures (one pass over a ledger's items in lead-unit order,
-- never touching the wide item rows) and for counting a unit subtree's items by state.
CREATE INDEX items_fig ON items(ledger_id, lead_unit_id, state, source, category, level,
    assigned_on, deadline, closed_on);
