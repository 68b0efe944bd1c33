"""The practitioner's embeddable viewer page: it holds no data and reads /viewer/story.json with the viewer's token."""
