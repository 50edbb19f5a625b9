"""Code every service shares: message contracts, topics, settings, rules, database access."""
