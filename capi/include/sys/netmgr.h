/*
 * <sys/netmgr.h>: node descriptors (libqnxsim, QNX Neutrino on Linux). One machine, one node:
 * ND_LOCAL_NODE. Written for this project from QNX's public documentation; not QNX's header.
 */
#ifndef _QNXSIM_SYS_NETMGR_H
#define _QNXSIM_SYS_NETMGR_H

#define ND_LOCAL_NODE 0
#define ND_NODE_BITS 16
#define ND_NODE_MASK ((1 << ND_NODE_BITS) - 1)
#define ND_NODE_CMP(a, b) (((a) & ND_NODE_MASK) - ((b) & ND_NODE_MASK))

#endif
