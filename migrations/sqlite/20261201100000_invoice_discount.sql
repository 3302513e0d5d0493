-- An invoice's discount (Orb's `discount` on POST /invoices), as validated; NULL: none. The
-- totals are computed from it and the lines; `amount_due` stores the total after it.
ALTER TABLE invoices ADD COLUMN discount TEXT;
