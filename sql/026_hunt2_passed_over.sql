-- A waiting caller handed a member who did not answer goes back to their place
-- in the line (issue 20 follow-up): the members who failed the call are not
-- handed to it again (daemon/repositories/waiting.py, pair).
ALTER TABLE waiting_calls ADD COLUMN passed_over bigint[] NOT NULL DEFAULT '{}';
