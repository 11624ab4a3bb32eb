//! xlvsadm, the admin CLI of xlvsd, as a library: the ipvsadm-compatible
//! command lines and listings, the keepalived.conf importer, the real
//! server setup (`xlvsadm realserver`), and which daemon to ask. The
//! protocol itself (requests, commands, the ipvsadm model the daemon
//! answers with, the client) is xlvs-api's, shared with xlvsd.

pub mod client;
pub mod ipvsadm;
pub mod keepalived;
pub mod realserver;
