"""HL7 v2 over MLLP: parse (pure), map to canonical events (pure), ACK (pure), and the MLLP transport."""
