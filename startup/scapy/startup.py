# Scapy startup file: plain `scapy` gets scapy-dhcp's helpers and the session `dhcp`.
# Install: cp startup/scapy/startup.py ~/.config/scapy/startup.py
# Magics (%dhcp_dora, ...) need the IPython that `scapy-dhcp` starts.
# Scapy runs this file with its session's namespace as locals(), hence locals() below.
try:
    from scapy_dhcp_ext.shell import scapy_startup
except ImportError:
    print("scapy-dhcp is not installed in this Python: pip install scapy-dhcp (or ./dev.sh install)")
else:
    scapy_startup(locals())
    del scapy_startup
