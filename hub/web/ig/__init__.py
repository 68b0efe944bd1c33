"""The IG officer's page: it holds no data and calls /ig/api with the officer's token."""
