module github.com/hostnet/hostnet

go 1.26.0

require (
	github.com/gopacket/gopacket v1.7.7 // indirect
	github.com/songgao/water v0.0.0-20200317203138-2b4b6d7c09d8 // indirect
	golang.org/x/net v0.55.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
)
