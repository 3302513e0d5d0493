-- A subscription's own name and currency, and the end of its trial (README, "Emulated routes";
-- src/store/model.rs, Subscription). NULL name: the plan's; NULL currency: the customer's.
ALTER TABLE subscriptions ADD COLUMN name TEXT;
ALTER TABLE subscriptions ADD COLUMN currency TEXT;
ALTER TABLE subscriptions ADD COLUMN trial_end_date TIMESTAMPTZ;
