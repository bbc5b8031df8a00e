"""The payments function: partners' payments in their own accounts' DynamoDB tables, through STS."""
