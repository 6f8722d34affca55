#ifndef SEPBEAT_CPCAP_SHIM_H
#define SEPBEAT_CPCAP_SHIM_H
#include <pcap/pcap.h>
#endif
