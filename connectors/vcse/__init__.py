"""Voluntary, community and social enterprise (VCSE) services: support sessions, support offered, onward referrals."""
