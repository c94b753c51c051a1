-- Give many calls' lines back in one statement (the daemon batches the calls
-- that end in the same moment).  Returns the calls that held a line.
CREATE FUNCTION release_calls(p_calls uuid[]) RETURNS SETOF uuid
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    RETURN QUERY DELETE FROM active_calls WHERE call_uuid = ANY(p_calls) RETURNING call_uuid;
END
$$;
