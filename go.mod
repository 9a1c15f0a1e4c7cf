module github.com/voicecert/voicecert

go 1.26
