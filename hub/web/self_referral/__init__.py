"""The public self-referral page: plain HTML, CSS and a little JavaScript, served by the hub itself."""
