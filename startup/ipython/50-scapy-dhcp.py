# IPython profile startup file: loads scapy-dhcp's extension (magics, helpers, `dhcp`).
# Install: cp startup/ipython/50-scapy-dhcp.py ~/.ipython/profile_default/startup/
try:
    get_ipython().run_line_magic("load_ext", "scapy_dhcp_ext")  # noqa: F821
except ImportError:
    print("scapy-dhcp is not installed in this Python: pip install scapy-dhcp (or ./dev.sh install)")
