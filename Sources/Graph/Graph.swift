// Co-rating networks, community detection and centrality arrive with issue 5.
