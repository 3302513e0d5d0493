-- An invoice's amount due, kept so that GET /invoices can filter on it (README, "Emulated
-- routes": `amount`, `amount[gt]`, `amount[lt]`): the sum of its line amounts, each rounded to
-- the cent (src/store/model.rs, Invoice::subtotal). Invoices written before this column get the
-- same sum from their line items here (a sub-cent line rounds half away from zero in SQL,
-- half to even in Rust).
ALTER TABLE invoices ADD COLUMN amount_due NUMERIC;
UPDATE invoices SET amount_due = (
    SELECT COALESCE(SUM(ROUND(CAST(value ->> 'quantity' AS REAL)
                              * CAST(value ->> 'unit_amount' AS REAL), 2)), 0)
      FROM json_each(invoices.line_items));
