"""Pages the hub serves (viewer, IG, self-referral, My story) and the vendored NHS.UK frontend they are built on."""
