-- Whether an invoice is auto-collected (README, "Emulated routes": POST /invoices
-- `auto_collection`, shown as `auto_collection.enabled`): the request's, else the customer's at
-- creation. NULL (an invoice written before this column) reads as true, as it did.
ALTER TABLE invoices ADD COLUMN auto_collection BOOLEAN;
