// Placeholder so the data area library exists before its first source; delete it with the first real file.
