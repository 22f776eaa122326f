/*
 * <sys/ftype.h>: the file types a connect message asks for (libqnxsim, QNX Neutrino on Linux).
 * name_open asks for _FTYPE_NAME. Written for this project from QNX's public documentation;
 * not QNX's header.
 */
#ifndef _QNXSIM_SYS_FTYPE_H
#define _QNXSIM_SYS_FTYPE_H

enum _file_type {
    _FTYPE_MATCHED = -1,
    _FTYPE_ALL = -1,
    _FTYPE_ANY = 0,
    _FTYPE_FILE = 1,
    _FTYPE_LINK = 2,
    _FTYPE_SYMLINK = 3,
    _FTYPE_PIPE = 4,
    _FTYPE_SHMEM = 5,
    _FTYPE_MQUEUE = 6,
    _FTYPE_SOCKET = 7,
    _FTYPE_SEM = 8,
    _FTYPE_PHOTON = 9,
    _FTYPE_DUMPER = 10,
    _FTYPE_MOUNT = 11,
    _FTYPE_NAME = 12,
    _FTYPE_TYMEM = 13
};

#endif
