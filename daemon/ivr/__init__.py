"""The IVR product (じゃんじゃんコール): the interpreter, forwarding, media and the live-flow cache."""
