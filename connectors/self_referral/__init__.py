"""Self-referral: a young person or parent asks for help directly and chooses, in plain words, who may be told."""
