-- A customer's profile (README, "Emulated routes"): billing and shipping addresses, additional
-- emails, auto collection, email delivery and the payment provider, as one JSON object that
-- only the customer's own reads and writes touch (src/store/model.rs, CustomerProfile).
ALTER TABLE customers ADD COLUMN profile JSONB NOT NULL DEFAULT '{}';
