module github.com/hostnet/hostnet

go 1.26
