"""Transfer (转运), isolation hotels and treatment places (隔离、救治): issue 12, items 4–6."""
