-- Customer guidance (extends `guidance` of 006): what each item was made from, the
-- processing report, and where its variants and the original upload live.
--
-- `path` (006) stays the 8 kHz WAV FreeSWITCH plays: <prompts>/guidance/<digest>.wav.
-- mod_sndfile picks <dir>/16000/<digest>.wav on wideband calls by itself; `wideband_path`
-- names it for flows that want to be explicit.  Files are content-addressed (`digest` =
-- sha256 of the 8 kHz WAV): replacing a guidance writes new files and updates the row, so
-- the next call plays the new sound and a call in progress keeps its own file.
--
-- Flows that play a guidance reference it with `REFERENCES guidance(id) ON DELETE RESTRICT`;
-- deleting a referenced guidance then fails (the API answers 409).
ALTER TABLE guidance
    ADD COLUMN kind            text NOT NULL DEFAULT 'upload' CHECK (kind IN ('upload', 'speech')),
    ADD COLUMN digest          text CHECK (digest ~ '^[0-9a-f]{64}$'),
    ADD COLUMN wideband_path   text CHECK (wideband_path !~ '[[:cntrl:][:space:]]'),
    ADD COLUMN original_path   text CHECK (original_path !~ '[[:cntrl:][:space:]]'),
    ADD COLUMN original_sha256 text CHECK (original_sha256 ~ '^[0-9a-f]{64}$'),
    ADD COLUMN original_name   text CHECK (length(original_name) <= 255 AND original_name !~ '[[:cntrl:]]'),
    ADD COLUMN speech_text     text CHECK (length(speech_text) <= 10000),
    ADD COLUMN speech_speed    double precision CHECK (speech_speed BETWEEN 0.5 AND 2.0),
    ADD COLUMN speech_pitch    double precision CHECK (speech_pitch BETWEEN -12 AND 12),
    ADD COLUMN stage_version   text,
    ADD COLUMN report          jsonb,
    ADD CONSTRAINT guidance_made_from CHECK (
        (kind = 'upload' AND speech_text IS NULL) OR (kind = 'speech' AND speech_text IS NOT NULL)
    );
