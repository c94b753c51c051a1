"""Customer guidance audio: any phone/PC recording (or synthesised speech) → telephony WAVs.

One idea per module:

- :mod:`~daemon.audio.limits`   what an upload may be (size, duration, decode time), settings
- :mod:`~daemon.audio.errors`   why an input was refused (each reason maps to one HTTP status)
- :mod:`~daemon.audio.decode`   PyAV (FFmpeg in the wheel): first audio stream → mono float at the
  working rate, streamed frame by frame, with the input's own peak and clipping measured on the way
- :mod:`~daemon.audio.dsp`      filters (rumble high-pass, telephone band), resampling, trimming, limiter
- :mod:`~daemon.audio.loudness` EBU R128 / ITU-R BS.1770-4 integrated loudness and 4× true peak
- :mod:`~daemon.audio.pipeline` the one stage every prompt goes through (uploads and TTS alike)
- :mod:`~daemon.audio.report`   what was done, as the API answers it
- :mod:`~daemon.audio.store`    content-addressed files FreeSWITCH plays (8000/ and 16000/ variants)
- :mod:`~daemon.audio.isolate`  run decoding/synthesis in a child process with a time limit

Only ``limits``, ``errors``, ``report``, ``store`` and ``isolate`` are imported by the daemon itself;
numpy, scipy, PyAV and pyopenjtalk are loaded in the child process only.
"""
