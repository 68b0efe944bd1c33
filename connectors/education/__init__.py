"""School MIS exports (CSV or JSON): pupils, attendance summaries, suspensions/exclusions, SEN, concerns, referrals."""
