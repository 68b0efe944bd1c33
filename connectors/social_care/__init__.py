"""Children's social care: case-management JSON (contacts to closures) and SSDA903 looked-after CSV returns."""
