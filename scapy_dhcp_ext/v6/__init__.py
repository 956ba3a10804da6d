"""DHCPv6: the client role (:mod:`.client`), its frames read defensively
(:mod:`.frames`), messages built (:mod:`.packets`), the socket and RFC 8415's
retransmission (:mod:`.transport`). The wire tables are in :mod:`..wire.dhcp6`.

In the shell, ``dhcp.v6`` is the v6 client on the session's endpoint and its
operations are helpers (``solicit()``, ``sarr()``, ``renew6()`` ...)."""
