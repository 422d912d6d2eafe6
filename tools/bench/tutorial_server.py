#_*_coding:utf-8_*_
# The tutorial's improved TCP server (../shared/seed, experiment 5: the
# connection loop and the communication loop), as the tutorial writes it.
# Changes, and only these, so `make bench` can run it:
#   - the port comes from argv[1] (the driver picks a free one) instead of
#     the fixed 8081;
#   - the `if len(msg) == 0:break` check is uncommented (the tutorial's own
#     fix: without it a closed client makes the server spin forever);
#   - the Chinese comments are translated.
# It answers each message upper-cased, with the same length, one client at
# a time. The driver sends its prints to /dev/null.
__author__ = 'Linhaifeng'
import socket
import sys
ip_port=('127.0.0.1',int(sys.argv[1]))  # the phone card
BUFSIZE=1024
s=socket.socket(socket.AF_INET,socket.SOCK_STREAM)  # buy a phone
s.bind(ip_port)  # insert the card
s.listen(5)  # stand by
while True:  # connection loop: take one call after another
    conn,addr=s.accept()  # answer the phone
    # print(conn)
    # print(addr)
    print('call from %s' %addr[0])
    while True:  # communication loop
        msg=conn.recv(BUFSIZE)  # listen
        if len(msg) == 0:break  # the client hung up
        print(msg,type(msg))
        conn.send(msg.upper())  # talk
    conn.close()  # hang up
s.close()  # switch the phone off
