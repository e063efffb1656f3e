"""Discovery: finding the programme's stores near a member (the 发现 tab and its API)."""
