#!/bin/sh
# lvs_server.sh: the second family of real-server scripts (net-tools' short -h)
VIP1=198.51.100.201
VIP2=198.51.100.202
case "$1" in
start)
    /sbin/ifconfig lo:0 $VIP1 broadcast $VIP1 netmask 255.255.255.255 up
    /sbin/route add -h $VIP1 dev lo:0
    /sbin/ifconfig lo:1 $VIP2 broadcast $VIP2 netmask 255.255.255.255 up
    /sbin/route add -h $VIP2 dev lo:1
    echo 1 > /proc/sys/net/ipv4/conf/lo/arp_ignore
    echo 2 > /proc/sys/net/ipv4/conf/lo/arp_announce
    echo 1 > /proc/sys/net/ipv4/conf/all/arp_ignore
    echo 2 > /proc/sys/net/ipv4/conf/all/arp_announce
    ;;
stop)
    /sbin/ifconfig lo:0 down
    /sbin/ifconfig lo:1 down
    /sbin/route del -h $VIP1
    /sbin/route del -h $VIP2
    ;;
esac
