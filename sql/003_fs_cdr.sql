-- CDRs written by FreeSWITCH itself (mod_cdr_pg_csv, see
-- freeswitch/conf/autoload_configs/cdr_pg_csv.conf.xml) into our database.
-- They survive a daemon crash: the reconciler reads a gone call's real end here.
CREATE TABLE fs_cdr (
    uuid           uuid PRIMARY KEY,
    bleg_uuid      uuid,
    caller_id_number text,
    destination_number text,
    start_uepoch   bigint,
    answer_uepoch  bigint,
    bridge_uepoch  bigint,
    end_uepoch     bigint,
    billsec        integer,
    hangup_cause   text,
    created_at     timestamptz NOT NULL DEFAULT now()
);
