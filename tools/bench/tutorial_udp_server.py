# The tutorial's UDP server (../shared/seed, experiment 6), as written,
# except that the port comes from argv[1] instead of the fixed 8082.
from socket import *
import sys
phone=socket(AF_INET,SOCK_DGRAM)
phone.bind(('127.0.0.1',int(sys.argv[1])))
while True:
    msg,addr=phone.recvfrom(1024)
    phone.sendto(msg.upper(),addr)
