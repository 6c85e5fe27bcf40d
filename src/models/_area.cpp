// placeholder until the area has sources
